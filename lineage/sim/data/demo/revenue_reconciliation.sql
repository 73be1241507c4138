SELECT
    d.day AS day,
    sum(d.revenue) AS revenue,
    any(v1.revenue) AS revenue_v1,
    revenue - revenue_v1 AS difference
FROM revenue_daily AS d
LEFT JOIN revenue_rollup_v1 AS v1 ON v1.day = d.day
GROUP BY day
HAVING abs(difference) > 0.01
