with

consents as (
    select * from {{ ref('stg_consent__consents') }}
),

latest as (
    -- The consent service may hold several versions of a child's consent for a purpose; the
    -- most recently updated one is the one in force, taken whole: argMax skips null
    -- arguments, so one argMax per column would give a consent granted again after a
    -- revocation the older record's revocation date.
    select
        child_id,
        purpose,
        argMax(tuple(granted, granted_at, revoked_at), updated_at) as record
    from consents
    group by child_id, purpose
),

final as (
    select
        child_id,
        purpose,
        tupleElement(record, 1) as granted,
        tupleElement(record, 2) as granted_at,
        tupleElement(record, 3) as revoked_at,
        granted and revoked_at is null as is_active
    from latest
)

select * from final
