DROP TABLE appeals;
DROP TABLE rankings;
DROP TABLE scores;
DROP TABLE evaluators;
DROP TABLE applications;
DROP TABLE calls;
ALTER TABLE campaigns DROP COLUMN cost_plan;
