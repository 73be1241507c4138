SELECT
    campaign_name AS campaign,
    toStartOfMonth(date) AS month,
    sum(cost_micros) / 1000000 AS spend,
    sum(clicks) AS clicks
FROM google_ads_campaign_stats
GROUP BY campaign, month
