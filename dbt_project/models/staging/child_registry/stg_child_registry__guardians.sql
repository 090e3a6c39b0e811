with source as (
    select * from {{ source('child_registry', 'guardians') }} final
),

renamed as (
    select
        guardian_id,
        child_id,
        full_name as full_name_token,
        relationship,
        phone as phone_token,
        nik as nik_token,
        created_at,
        updated_at,
        _loaded_at
    from source
)

select * from renamed
