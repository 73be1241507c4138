SELECT
    l.campaign AS campaign,
    uniq(l.person_id) AS leads,
    uniqIf(l.person_id, r.lifetime_revenue > 0) AS customers,
    sum(r.lifetime_revenue) AS revenue
FROM campaign_leads AS l
LEFT JOIN revenue_by_customer AS r ON r.email = l.email
GROUP BY campaign
