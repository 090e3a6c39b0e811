with source as (
    select * from {{ source('case_management', 'case_notes') }} final
),

renamed as (
    select
        note_id,
        case_id,
        author_id,
        note_text,
        written_at,
        updated_at,
        _loaded_at
    from source
)

select * from renamed
