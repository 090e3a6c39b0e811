with

consents as (
    select * from {{ ref('stg_consent__consents') }}
),

latest as (
    -- The consent service may hold several versions of a child's consent for a purpose; the
    -- most recently updated one is the one in force.
    select
        child_id,
        purpose,
        argMax(granted, updated_at) as granted,
        argMax(granted_at, updated_at) as granted_at,
        argMax(revoked_at, updated_at) as revoked_at
    from consents
    group by child_id, purpose
),

final as (
    select
        child_id,
        purpose,
        granted,
        granted_at,
        revoked_at,
        granted and revoked_at is null as is_active
    from latest
)

select * from final
