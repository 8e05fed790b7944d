-- Score writes check what they refer to once a sheet, not once a row.
--
-- An apply writes a sheet's versions and current scores in two set-based statements. Their
-- foreign keys made PostgreSQL check every row by a trigger of its own: each version against
-- courses, students and sheets, and each current score against its version. Those are four
-- index probes with row locks a record, about half of what writing a sheet's scores cost.
--
-- The apply is the only writer of both tables, and checks the same things once a sheet
-- (crates/adapters/postgres/src/apply.rs): the course and the sheet are those of the sheet row
-- it holds locked, its students are looked up in one statement, and each current score is
-- written from the same rows as its version, in the same transaction.
--
-- The other direction is kept here: a course, student or sheet that scores refer to cannot be
-- deleted (or renamed), nor a version that a current score names, as the keys refused before.
ALTER TABLE score_versions
    DROP CONSTRAINT score_versions_course_fk,
    DROP CONSTRAINT score_versions_student_fk,
    DROP CONSTRAINT score_versions_sheet_fk;
ALTER TABLE current_scores DROP CONSTRAINT current_scores_version_fk;

CREATE FUNCTION scores_refuse_orphaning() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referred BOOLEAN;
BEGIN
    -- Separate statements: each reads a column only its own table has.
    IF TG_TABLE_NAME = 'courses' THEN
        referred := EXISTS (SELECT 1 FROM score_versions WHERE course_code = OLD.code);
    ELSIF TG_TABLE_NAME = 'students' THEN
        referred := EXISTS (SELECT 1 FROM score_versions WHERE matric_no = OLD.matric_no);
    ELSIF TG_TABLE_NAME = 'sheets' THEN
        referred := EXISTS (SELECT 1 FROM score_versions WHERE sheet_id = OLD.id);
    ELSE
        referred := EXISTS (SELECT 1 FROM current_scores c
            WHERE c.course_code = OLD.course_code AND c.session = OLD.session
            AND c.semester = OLD.semester AND c.matric_no = OLD.matric_no
            AND c.version = OLD.version);
    END IF;
    IF referred THEN
        RAISE EXCEPTION 'scores refer to this row of %', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'scores_refer_to_' || TG_TABLE_NAME;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

-- An upsert that sets a key to its own value is no rename: only a changed key is checked.
CREATE TRIGGER courses_keep_scored BEFORE DELETE ON courses
    FOR EACH ROW EXECUTE FUNCTION scores_refuse_orphaning();
CREATE TRIGGER courses_keep_scored_key BEFORE UPDATE OF code ON courses
    FOR EACH ROW WHEN (OLD.code IS DISTINCT FROM NEW.code)
    EXECUTE FUNCTION scores_refuse_orphaning();
CREATE TRIGGER students_keep_scored BEFORE DELETE ON students
    FOR EACH ROW EXECUTE FUNCTION scores_refuse_orphaning();
CREATE TRIGGER students_keep_scored_key BEFORE UPDATE OF matric_no ON students
    FOR EACH ROW WHEN (OLD.matric_no IS DISTINCT FROM NEW.matric_no)
    EXECUTE FUNCTION scores_refuse_orphaning();
CREATE TRIGGER sheets_keep_scored BEFORE DELETE ON sheets
    FOR EACH ROW EXECUTE FUNCTION scores_refuse_orphaning();
CREATE TRIGGER sheets_keep_scored_key BEFORE UPDATE OF id ON sheets
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION scores_refuse_orphaning();

CREATE TRIGGER score_versions_keep_current BEFORE DELETE ON score_versions
    FOR EACH ROW EXECUTE FUNCTION scores_refuse_orphaning();
CREATE TRIGGER score_versions_keep_current_key
    BEFORE UPDATE OF course_code, session, semester, matric_no, version ON score_versions
    FOR EACH ROW WHEN ((OLD.course_code, OLD.session, OLD.semester, OLD.matric_no, OLD.version)
        IS DISTINCT FROM (NEW.course_code, NEW.session, NEW.semester, NEW.matric_no, NEW.version))
    EXECUTE FUNCTION scores_refuse_orphaning();
