{#- The small-cell threshold of one audience, from the seed written from the Python reference
    (lakehouse/reference/audiences.py). A scalar subquery that fails the query, naming the
    audience, when the seed lacks it: an empty or defaulted threshold would publish small cells. -#}
{% macro audience_threshold(audience) -%}
    assumeNotNull((
        select throwIf(count() != 1, 'audience_thresholds has no row for {{ audience }}') + any(threshold)
        from {{ ref('audience_thresholds') }}
        where audience = '{{ audience }}'
    ))
{%- endmacro %}
