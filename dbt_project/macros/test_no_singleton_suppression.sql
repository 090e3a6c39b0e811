{#- Fails when a group along either dimension has exactly one hidden cell (recoverable from the
    group's margin) or when a published count lies in 1..threshold-1, at the threshold of
    `audience` (read from the seed, independently of the threshold column the mart carries). -#}
{% test no_singleton_suppression(model, dims, count_columns, hidden_column, audience) %}
{% for d in dims %}
select '{{ d }}' as dimension, toString({{ d }}) as grp, sum(toUInt8({{ hidden_column }})) as hidden_cells
from {{ model }}
group by {{ d }}
having hidden_cells = 1
union all
{% endfor %}
select 'small published cell' as dimension, '' as grp, toUInt64(count()) as hidden_cells
from {{ model }}
where not {{ hidden_column }}
  and ({% for c in count_columns %}({{ c }} between 1 and {{ audience_threshold(audience) }} - 1){% if not loop.last %} or {% endif %}{% endfor %})
having hidden_cells > 0
{% endtest %}
