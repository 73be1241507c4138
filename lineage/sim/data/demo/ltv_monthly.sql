SELECT
    a.month AS month,
    a.arpu AS arpu,
    c.churn_rate AS churn_rate,
    if(c.churn_rate > 0, a.arpu / c.churn_rate, NULL) AS ltv
FROM arpu_monthly AS a
LEFT JOIN churn_monthly AS c ON c.month = a.month
ORDER BY month
