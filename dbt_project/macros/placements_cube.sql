{#- The cells of a placements cube: placements by province, quarter, sex, age band, placement
    type and institution type, with their ended and successful counts and perturbation key
    sums, over `placements` (int_placements_joined_to_children or a consented subset of it).
    One definition for the all-children cube and every purpose's consented cube, so they can
    differ only in the placements they count. Unit-tested through metrics_placements_cube and
    metrics_placements_cube_community (their YAML). -#}
{% macro placements_cube(placements) -%}
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
    from {{ placements }}
    group by province_code, quarter_start, sex, age_band, placement_type, institution_type
{%- endmacro %}
