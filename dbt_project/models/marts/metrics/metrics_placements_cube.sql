{{
    config(
        order_by='(province_code, quarter_start, sex, age_band, placement_type, institution_type)',
        partition_by='toYear(quarter_start)',
    )
}}

-- The finest grain the metrics API may aggregate placements from, over every registered
-- child (the service purpose: admin, government, business). Audiences served for a consent
-- purpose read that purpose's consented cube instead (metrics_placements_cube_<purpose>).
-- Counts here are NOT suppressed: the publish step protects them per audience, and only
-- admins see raw cells.
with

placements as (
    select * from {{ ref('int_placements_joined_to_children') }}
),

final as (
    {{ placements_cube('placements') }}
)

select * from final
