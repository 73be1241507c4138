SELECT
    k.month AS month,
    k.mrr AS mrr,
    k.churn_rate AS churn_rate,
    k.ltv AS ltv,
    roi.spend AS marketing_spend,
    roi.roas AS roas
FROM finance_kpis AS k
LEFT JOIN (
    SELECT sum(spend) AS spend, sum(revenue) / nullIf(sum(spend), 0) AS roas
    FROM marketing_roi
) AS roi ON true
WHERE k.month >= toStartOfMonth(now() - INTERVAL 12 MONTH)
ORDER BY month DESC
