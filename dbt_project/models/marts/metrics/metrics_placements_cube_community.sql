{{
    config(
        order_by='(province_code, quarter_start, sex, age_band, placement_type, institution_type)',
        partition_by='toYear(quarter_start)',
    )
}}

-- metrics_placements_cube counting only the children whose guardians' community consent is in
-- force at build time (int_purpose_populations): the community purpose's consented cube. Built by
-- every run, so a revocation loaded by a run leaves it in that run's build, not before.
with

placements as (
    select * from {{ ref('int_placements_joined_to_children') }}
),

populations as (
    select * from {{ ref('int_purpose_populations') }}
),

consented as (
    select *
    from placements
    where child_id in (select child_id from populations where purpose = 'community')
),

final as (
    {{ placements_cube('consented') }}
)

select * from final
