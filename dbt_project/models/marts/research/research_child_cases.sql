{{
    config(
        order_by='(child_id)',
    )
}}

with

children as (
    select * from {{ ref('int_children_joined_to_institutions') }}
),

populations as (
    select * from {{ ref('int_purpose_populations') }}
),

cases as (
    select * from {{ ref('stg_case_management__cases') }}
),

-- The research purpose's population: research consent in force at build time.
research_consenting as (
    select child_id
    from populations
    where purpose = 'research'
),

-- The child's most recently opened case is the one a researcher sees.
latest_case as (
    select
        child_id,
        argMax(case_type, opened_at) as case_type,
        argMax(risk_level, opened_at) as risk_level
    from cases
    group by child_id
),

final as (
    select
        children.child_id as child_id,
        children.age_years as age_years,
        children.sex as sex,
        children.regency_code as regency_code,
        children.province_code as province_code,
        children.disability as disability,
        children.institution_type as institution_type,
        toYear(children.admission_date) as admission_year,
        latest_case.case_type as case_type,
        latest_case.risk_level as risk_level
    from children
    inner join research_consenting on children.child_id = research_consenting.child_id
    inner join latest_case on children.child_id = latest_case.child_id
)

select * from final
