{{
    config(
        order_by='(province_code, quarter_start)',
        partition_by='toYear(quarter_start)',
    )
}}

with

impact as (
    select * from {{ ref('impact_placement_outcomes_by_province_quarter') }}
),

cells as (
    select
        province_code,
        province_name,
        quarter_start,
        quarter,
        placements,
        successful,
        placements - successful as not_successful,
        {{ audience_threshold('government') }} as threshold
    from impact
),

{{ small_cell_suppression(
    'cells',
    dims=['province_code', 'quarter_start'],
    count_columns=['placements', 'successful', 'not_successful'],
    threshold_column='threshold',
    passes=var('suppression_passes'),
) }},

final as (
    select
        province_code,
        province_name,
        quarter_start,
        quarter,
        if(is_hidden, null, placements) as placements,
        if(is_hidden, null, successful) as successful,
        if(is_hidden or placements = 0, null, round(successful / placements, 4)) as success_rate,
        toBool(is_hidden) as is_suppressed,
        multiIf(
            is_primary, concat('primary: a count is between 1 and ', toString(threshold - 1)),
            is_hidden, 'complementary: protects a suppressed cell in the same province or quarter',
            null
        ) as suppression_reason,
        toUInt16(threshold) as threshold
    from suppression_pass_{{ var('suppression_passes') }}
)

select * from final
