with source as (
    select * from {{ source('institutions', 'institutions') }} final
),

renamed as (
    select
        institution_id,
        name,
        institution_type,
        province_code,
        regency_code,
        address,
        capacity,
        licence_number,
        licence_expiry,
        accreditation,
        created_at,
        updated_at,
        _loaded_at
    from source
)

select * from renamed
