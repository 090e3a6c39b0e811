{{
    config(
        order_by='(institution_id, month_start)',
        partition_by='toYear(month_start)',
    )
}}

with

children as (
    select * from {{ ref('int_children_joined_to_institutions') }}
),

institutions as (
    select * from {{ ref('stg_institutions__institutions') }}
),

consents as (
    select * from {{ ref('int_consents_resolved') }}
),

access_events as (
    select * from {{ ref('stg_platform_audit__access_events') }}
),

months as (
    select distinct toStartOfMonth(occurred_at) as month_start
    from access_events
),

-- Children in an institution's care at some point of the month.
in_care as (
    select
        children.institution_id as institution_id,
        months.month_start as month_start,
        children.child_id as child_id
    from children
    cross join months
    where children.admission_date <= toLastDayOfMonth(months.month_start)
      and (children.exit_date is null or children.exit_date >= months.month_start)
),

-- Consent in force at the end of the month, per purpose.
consent_at_month_end as (
    select
        in_care.institution_id as institution_id,
        in_care.month_start as month_start,
        in_care.child_id as child_id,
        countIf(
            consents.purpose = 'research' and consents.granted
            and toDate(consents.granted_at) <= toLastDayOfMonth(in_care.month_start)
            and (consents.revoked_at is null or toDate(consents.revoked_at) > toLastDayOfMonth(in_care.month_start))
        ) > 0 as has_research_consent,
        countIf(
            consents.purpose = 'community' and consents.granted
            and toDate(consents.granted_at) <= toLastDayOfMonth(in_care.month_start)
            and (consents.revoked_at is null or toDate(consents.revoked_at) > toLastDayOfMonth(in_care.month_start))
        ) > 0 as has_community_consent,
        countIf(
            consents.purpose = 'media' and consents.granted
            and toDate(consents.granted_at) <= toLastDayOfMonth(in_care.month_start)
            and (consents.revoked_at is null or toDate(consents.revoked_at) > toLastDayOfMonth(in_care.month_start))
        ) > 0 as has_media_consent
    from in_care
    left join consents on in_care.child_id = consents.child_id
    group by in_care.institution_id, in_care.month_start, in_care.child_id
),

consent_coverage as (
    select
        institution_id,
        month_start,
        count() as children_in_care,
        countIf(has_research_consent) as children_with_research_consent,
        countIf(has_community_consent) as children_with_community_consent,
        countIf(has_media_consent) as children_with_media_consent
    from consent_at_month_end
    group by institution_id, month_start
),

access as (
    select
        institution_id,
        toStartOfMonth(occurred_at) as month_start,
        count() as access_events,
        uniqExact(child_id) as children_accessed,
        countIf(action in ('export', 'print')) as export_or_print_events,
        countIf(actor_role not in ('caseworker', 'supervisor')) as events_by_other_roles
    from access_events
    where institution_id is not null
    group by institution_id, month_start
),

grid as (
    select institutions.institution_id as institution_id,
           institutions.institution_type as institution_type,
           institutions.province_code as province_code,
           months.month_start as month_start
    from institutions
    cross join months
),

final as (
    select
        grid.institution_id as institution_id,
        grid.institution_type as institution_type,
        grid.province_code as province_code,
        grid.month_start as month_start,
        toUInt64(ifNull(consent_coverage.children_in_care, 0)) as children_in_care,
        toUInt64(ifNull(consent_coverage.children_with_research_consent, 0)) as children_with_research_consent,
        toUInt64(ifNull(consent_coverage.children_with_community_consent, 0)) as children_with_community_consent,
        toUInt64(ifNull(consent_coverage.children_with_media_consent, 0)) as children_with_media_consent,
        if(children_in_care = 0, null, round(children_with_research_consent / children_in_care, 4)) as research_consent_coverage,
        toUInt64(ifNull(access.access_events, 0)) as access_events,
        toUInt64(ifNull(access.children_accessed, 0)) as children_accessed,
        toUInt64(ifNull(access.export_or_print_events, 0)) as export_or_print_events,
        toUInt64(ifNull(access.events_by_other_roles, 0)) as events_by_other_roles
    from grid
    left join consent_coverage
        on grid.institution_id = consent_coverage.institution_id
        and grid.month_start = consent_coverage.month_start
    left join access
        on grid.institution_id = access.institution_id
        and grid.month_start = access.month_start
)

select * from final
