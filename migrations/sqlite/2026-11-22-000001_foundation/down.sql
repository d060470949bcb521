DROP TABLE audit_log;
DROP TABLE campaigns;
DROP TABLE fund_areas;
DROP TABLE funds;
DROP TABLE areas;
DROP TABLE partners;
DROP TABLE users;
DROP TABLE associations;
