with source as (
    select * from {{ source('platform_audit', 'access_log') }} final
),

renamed as (
    select
        event_id,
        occurred_at,
        actor_id,
        actor_role,
        action,
        resource_type,
        resource_id,
        child_id,
        institution_id,
        updated_at,
        _loaded_at
    from source
)

select * from renamed
