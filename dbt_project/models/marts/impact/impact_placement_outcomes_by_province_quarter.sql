{{
    config(
        order_by='(province_code, quarter_start)',
        partition_by='toYear(quarter_start)',
    )
}}

with

placements as (
    select * from {{ ref('int_placements_joined_to_children') }}
),

provinces as (
    select * from {{ ref('bps_provinces') }}
),

quarter_range as (
    select min(quarter_start) as first_quarter, max(quarter_start) as last_quarter
    from placements
),

-- A complete province x quarter grid (zeros included), so that suppression downstream sees
-- every cell of a margin and no absent row can be mistaken for a hidden one.
grid as (
    select
        provinces.province_code as province_code,
        provinces.province_name as province_name,
        provinces.island_group as island_group,
        arrayJoin(
            arrayMap(
                i -> addQuarters(quarter_range.first_quarter, i),
                range(toUInt32(dateDiff('quarter', quarter_range.first_quarter, quarter_range.last_quarter) + 1))
            )
        ) as quarter_start
    from provinces
    cross join quarter_range
    where provinces.province_code in (select province_code from placements)
),

counts as (
    select
        province_code,
        quarter_start,
        count() as placements,
        countIf(is_ended) as ended_placements,
        countIf(is_successful) as successful
    from placements
    group by province_code, quarter_start
),

final as (
    select
        grid.province_code as province_code,
        grid.province_name as province_name,
        grid.island_group as island_group,
        grid.quarter_start as quarter_start,
        concat(toString(toYear(grid.quarter_start)), '-Q', toString(toQuarter(grid.quarter_start))) as quarter,
        toUInt64(ifNull(counts.placements, 0)) as placements,
        toUInt64(ifNull(counts.ended_placements, 0)) as ended_placements,
        toUInt64(ifNull(counts.successful, 0)) as successful,
        if(placements = 0, null, round(successful / placements, 4)) as success_rate
    from grid
    left join counts
        on grid.province_code = counts.province_code
        and grid.quarter_start = counts.quarter_start
)

select * from final
