with source as (
    select * from {{ source('placements', 'placements') }} final
),

renamed as (
    select
        placement_id,
        child_id,
        placement_type,
        start_date,
        end_date,
        outcome,
        created_at,
        updated_at,
        toUInt8(record_key) as record_key,
        _loaded_at
    from source
)

select * from renamed
