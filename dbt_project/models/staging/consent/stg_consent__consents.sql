with source as (
    select * from {{ source('consent', 'consents') }} final
),

renamed as (
    select
        consent_id,
        child_id,
        purpose,
        granted,
        granted_by_guardian_id,
        granted_at,
        revoked_at,
        updated_at,
        _loaded_at
    from source
)

select * from renamed
