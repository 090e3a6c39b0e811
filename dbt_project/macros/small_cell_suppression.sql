{#-
  Primary and complementary small-cell suppression over a two-dimensional grid.

  Primary: a cell is hidden when any of `count_columns` is in 1..threshold-1, where the
  threshold is the value of `threshold_column` in the cell's row (see `audience_threshold`).
  Complementary: along each dimension, a group (a row or a column of the grid, whose total
  could be published elsewhere) with exactly one hidden cell also hides its smallest other cell
  (non-zero cells first), so the hidden value cannot be recovered by subtraction. Each pass can
  create new singleton groups in the other dimension, so the rule is applied `passes` times;
  the publish gate re-checks the result independently and blocks publication if any singleton
  group remains. This is a heuristic, not an optimal cell-suppression solver.
  Unit-tested through the model that calls it: the unit_tests of
  gov_placement_outcomes_by_province_quarter (its YAML) derive the hidden cells by hand.
-#}
{% macro small_cell_suppression(relation, dims, count_columns, threshold_column, passes) -%}
{%- set d1, d2 = dims[0], dims[1] -%}
{%- set size = count_columns[0] -%}
suppression_pass_0 as (
    select
        *,
        ({% for c in count_columns %}({{ c }} between 1 and {{ threshold_column }} - 1){% if not loop.last %} or {% endif %}{% endfor %}) as is_primary,
        is_primary as is_hidden
    from {{ relation }}
),
{%- for i in range(1, passes + 1) %}
suppression_pass_{{ i }}_ranked as (
    select
        *,
        sum(toUInt8(is_hidden)) over (partition by {{ d1 }}) as hidden_in_{{ d1 }},
        sum(toUInt8(is_hidden)) over (partition by {{ d2 }}) as hidden_in_{{ d2 }},
        row_number() over (partition by {{ d1 }}, is_hidden order by {{ size }} = 0, {{ size }}, {{ d2 }}) as rank_in_{{ d1 }},
        row_number() over (partition by {{ d2 }}, is_hidden order by {{ size }} = 0, {{ size }}, {{ d1 }}) as rank_in_{{ d2 }}
    from suppression_pass_{{ i - 1 }}
),
suppression_pass_{{ i }} as (
    select
        * except (hidden_in_{{ d1 }}, hidden_in_{{ d2 }}, rank_in_{{ d1 }}, rank_in_{{ d2 }}, is_hidden),
        is_hidden
            or (not is_hidden and hidden_in_{{ d1 }} = 1 and rank_in_{{ d1 }} = 1)
            or (not is_hidden and hidden_in_{{ d2 }} = 1 and rank_in_{{ d2 }} = 1) as is_hidden
    from suppression_pass_{{ i }}_ranked
){% if not loop.last %},{% endif %}
{%- endfor %}
{%- endmacro %}
