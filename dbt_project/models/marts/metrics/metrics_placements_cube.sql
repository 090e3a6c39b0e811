{{
    config(
        order_by='(province_code, quarter_start, sex, age_band, placement_type, institution_type)',
        partition_by='toYear(quarter_start)',
    )
}}

-- The finest grain the metrics API may aggregate placements from. Counts here are NOT
-- suppressed: the API applies each audience's threshold (primary + complementary suppression)
-- after aggregating to the dimensions a caller asks for, and only admins see raw cells.
with

placements as (
    select * from {{ ref('int_placements_joined_to_children') }}
),

final as (
    select
        province_code,
        any(province_name) as province_name,
        quarter_start,
        concat(toString(toYear(quarter_start)), '-Q', toString(toQuarter(quarter_start))) as quarter,
        sex,
        age_band,
        placement_type,
        ifNull(institution_type, 'unknown') as institution_type,
        toUInt64(count()) as placements,
        toUInt64(countIf(is_ended)) as ended_placements,
        toUInt64(countIf(is_successful)) as successful,
        -- Sums of the records' perturbation keys (anonymization.cell_key): a cell's key is the
        -- sum of its records' keys, so coarser cells add these up like counts.
        toUInt64(coalesce(sum(record_key), 0)) as placements_record_key_sum,
        toUInt64(coalesce(sumIf(record_key, is_successful), 0)) as successful_record_key_sum
    from placements
    group by province_code, quarter_start, sex, age_band, placement_type, institution_type
)

select * from final
