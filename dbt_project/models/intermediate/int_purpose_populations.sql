-- Who each purpose's outputs may count, as of this build: for a purpose that requires consent
-- (research, community, media) the registered children whose guardians' consent for it is in
-- force now; for the service purpose every registered child. The consented marts join to this
-- model, so a revocation loaded by a run changes them in that run's build, and the publish
-- step reads it to count each population and who left or joined it since the last snapshot.
with

children as (
    select * from {{ ref('stg_child_registry__children') }}
),

consents as (
    select * from {{ ref('int_consents_resolved') }}
),

purposes as (
    select * from {{ ref('purposes') }}
),

consented as (
    select
        purposes.purpose as purpose,
        consents.child_id as child_id
    from consents
    inner join purposes on consents.purpose = purposes.purpose
    where purposes.requires_consent and consents.is_active
),

unconditional as (
    select
        purposes.purpose as purpose,
        children.child_id as child_id
    from purposes
    cross join children
    where not purposes.requires_consent
),

members as (
    select purpose, child_id from consented
    union all
    select purpose, child_id from unconditional
),

final as (
    select
        members.purpose as purpose,
        purposes.population as population,
        members.child_id as child_id
    from members
    inner join purposes on members.purpose = purposes.purpose
    -- Consent records of children the registry does not hold count nowhere.
    inner join children on members.child_id = children.child_id
)

select * from final
