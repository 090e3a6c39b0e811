{#- Five-year age bands, the finest age any served mart shows. -#}
{% macro age_band(age_years) -%}
    multiIf({{ age_years }} is null, 'unknown',
            {{ age_years }} < 5, '00-04',
            {{ age_years }} < 10, '05-09',
            {{ age_years }} < 15, '10-14',
            '15-17')
{%- endmacro %}
