with source as (
    select * from {{ source('case_management', 'case_status_history') }} final
),

renamed as (
    select
        history_id,
        case_id,
        status,
        changed_at,
        changed_by,
        updated_at,
        _loaded_at
    from source
)

select * from renamed
