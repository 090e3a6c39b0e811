with

children as (
    select * from {{ ref('stg_child_registry__children') }}
),

institutions as (
    select * from {{ ref('stg_institutions__institutions') }}
),

provinces as (
    select * from {{ ref('bps_provinces') }}
),

joined as (
    select
        children.child_id as child_id,
        children.sex as sex,
        children.disability as disability,
        children.province_code as province_code,
        provinces.province_name as province_name,
        children.regency_code as regency_code,
        children.institution_id as institution_id,
        institutions.institution_type as institution_type,
        children.admission_date as admission_date,
        children.exit_date as exit_date,
        toDate(concat(children.birth_year_month, '-01')) as birth_month_start,
        intDiv(dateDiff('month', birth_month_start, {{ as_of_date() }}), 12) as age_years,
        {{ age_band('age_years') }} as age_band
    from children
    left join institutions on children.institution_id = institutions.institution_id
    left join provinces on children.province_code = provinces.province_code
)

select * from joined
