WITH spend AS (
    SELECT campaign, sum(spend) AS spend, sum(clicks) AS clicks
    FROM campaign_spend
    GROUP BY campaign
)
SELECT
    r.campaign AS campaign,
    r.leads AS leads,
    r.customers AS customers,
    r.revenue AS revenue,
    s.spend AS spend,
    if(s.spend > 0, r.revenue / s.spend, NULL) AS roas,
    if(r.customers > 0, s.spend / r.customers, NULL) AS cac
FROM campaign_revenue AS r
LEFT JOIN spend AS s ON s.campaign = r.campaign
ORDER BY revenue DESC
