SELECT
    id AS contact_id,
    lower(trim(email)) AS email,
    lifecyclestage AS lifecycle_stage,
    hs_analytics_source AS source,
    createdate AS created_at
FROM hubspot_contacts
WHERE email != '' AND email NOT LIKE '%@example.com'
