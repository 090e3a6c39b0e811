with

placements as (
    select * from {{ ref('stg_placements__placements') }}
),

children as (
    select * from {{ ref('int_children_joined_to_institutions') }}
),

joined as (
    select
        placements.placement_id as placement_id,
        placements.child_id as child_id,
        placements.placement_type as placement_type,
        placements.start_date as start_date,
        placements.end_date as end_date,
        placements.outcome as outcome,
        placements.record_key as record_key,
        toStartOfQuarter(placements.start_date) as quarter_start,
        placements.end_date is not null as is_ended,
        placements.outcome = 'stable' as is_successful,
        children.province_code as province_code,
        children.province_name as province_name,
        children.sex as sex,
        children.age_band as age_band,
        children.institution_type as institution_type
    from placements
    inner join children on placements.child_id = children.child_id
)

select * from joined
