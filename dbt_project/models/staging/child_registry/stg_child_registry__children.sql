with source as (
    select * from {{ source('child_registry', 'children') }} final
),

renamed as (
    select
        child_id,
        full_name as full_name_token,
        nik as nik_token,
        birth_date as birth_date_token,
        birth_year_month,
        sex,
        birthplace as birthplace_token,
        address as address_token,
        province_code,
        regency_code,
        disability,
        institution_id,
        admission_date,
        exit_date,
        created_at,
        updated_at,
        _loaded_at
    from source
)

select * from renamed
