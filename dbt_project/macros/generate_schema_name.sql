{#- A dbt schema is a ClickHouse database: use the folder's schema name as is (staging, marts,
    ...) instead of prefixing the target schema, so consumers read stable database names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
