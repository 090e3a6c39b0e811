with source as (
    select * from {{ source('case_management', 'cases') }} final
),

renamed as (
    select
        case_id,
        child_id,
        case_type,
        risk_level,
        status,
        caseworker_id,
        opened_at,
        closed_at,
        created_at,
        updated_at,
        _loaded_at
    from source
)

select * from renamed
