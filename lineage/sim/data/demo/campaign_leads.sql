SELECT
    f.person_id AS person_id,
    lower(p.properties.email) AS email,
    f.first_campaign AS campaign,
    f.first_source AS source,
    h.lifecycle_stage AS lifecycle_stage,
    f.first_touch_at AS first_touch_at
FROM first_touch_attribution AS f
INNER JOIN persons AS p ON p.id = f.person_id
LEFT JOIN hubspot_contacts_clean AS h ON h.email = lower(p.properties.email)
