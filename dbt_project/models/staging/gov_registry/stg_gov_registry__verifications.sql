with source as (
    select * from {{ source('gov_registry', 'verifications') }} final
),

renamed as (
    select
        nik as nik_token,
        full_name as full_name_token,
        birth_date as birth_date_token,
        verification_status,
        verified_at,
        registry_reference,
        _loaded_at
    from source
)

select * from renamed
