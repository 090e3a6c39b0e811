{#- The reporting date: `--vars '{as_of: 2026-11-01}'` pins it (tests, backfills); default today. -#}
{% macro as_of_date() -%}
    {%- if var('as_of', none) -%}toDate('{{ var("as_of") }}'){%- else -%}today(){%- endif -%}
{%- endmacro %}
