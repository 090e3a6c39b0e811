{{
    config(
        order_by='(regency_code, age_years, sex, disability, admission_year)',
    )
}}

with

children as (
    select * from {{ ref('int_children_joined_to_institutions') }}
),

-- Every registered child, consenting or not: the register an attacker of the journalist model
-- would link a release against. Counts only; no child id leaves this model.
final as (
    select
        -- Not null by the filter below; the sort key may not be nullable.
        assumeNotNull(age_years) as age_years,
        assumeNotNull(sex) as sex,
        assumeNotNull(regency_code) as regency_code,
        assumeNotNull(disability) as disability,
        assumeNotNull(toYear(admission_date)) as admission_year,
        count() as children
    from children
    where age_years is not null
        and sex is not null
        and regency_code is not null
        and disability is not null
        and admission_date is not null
    group by age_years, sex, regency_code, disability, admission_year
)

select * from final
