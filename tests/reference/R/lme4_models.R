# Reference fits for alliance_stats.models (lme4, and glmmTMB where lme4 stops short).
#
# Run from the repository root:   Rscript tests/reference/R/lme4_models.R
# Writes tests/reference/fixtures/lme4_<model>.json, one per model, plus the modelling data
# the Python tests read (so R and Python fit exactly the same rows):
#   lme4_sleepstudy.csv        lme4::sleepstudy
#   lme4_verbagg.csv           lme4::VerbAgg (columns used by the model only)
#   lme4_clinic_dropout_pp.csv person-period rows built from the bundled clinic data (see below)
# The clinic linear and session-level binary models read alliance_stats/bundled/clinic.csv.gz directly and
# derive their variables with the rules written next to each model; tests/reference/
# test_lme4_models.py derives them the same way in Python and checks the row counts.
#
# Timings: median elapsed seconds of `n_time` fits on this machine (recorded with the fixture).

source(file.path("tests", "reference", "R", "lme4_helpers.R"))

# ---------------------------------------------------------------- public R datasets
data(sleepstudy, package = "lme4")
write.csv(sleepstudy, file.path(fixture_dir, "lme4_sleepstudy.csv"), row.names = FALSE)
data(VerbAgg, package = "lme4")
verbagg <- VerbAgg[, c("r2", "Anger", "Gender", "btype", "situ", "id", "item")]
write.csv(verbagg, file.path(fixture_dir, "lme4_verbagg.csv"), row.names = FALSE)

fit_lmer("sleepstudy_reml", "Reaction ~ Days + (Days | Subject)", sleepstudy, "sleepstudy", TRUE)
fit_lmer("sleepstudy_ml", "Reaction ~ Days + (Days | Subject)", sleepstudy, "sleepstudy", FALSE)
fit_lmer("sleepstudy_uncorr", "Reaction ~ Days + (Days || Subject)", sleepstudy, "sleepstudy",
         TRUE)
invisible(fit_glmer("verbagg", "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", VerbAgg,
          "VerbAgg"))

# ---------------------------------------------------------------- bundled clinic data
clinic <- read.csv(file.path("alliance_stats", "bundled", "clinic.csv.gz"), stringsAsFactors = FALSE)
clinic$attended <- as.logical(clinic$attended)
clinic <- clinic[order(clinic$client, clinic$session), ]
wai_items <- paste0("wai_", 1:12)
srs_items <- paste0("srs_", 1:4)

# wai_total: sum of wai_1..wai_12 on attended rows; NA when any item is blank (rows dropped).
att <- clinic[clinic$attended, ]
att$wai_total <- rowSums(att[, wai_items])           # NA if any item NA
fit_lmer("clinic_wai_slope", "wai_total ~ session + (1 + session | client) + (1 | therapist)",
         att, "clinic", TRUE)
fit_lmer("clinic_wai_gender_ml",
         "wai_total ~ session + gender + (1 + session | client) + (1 | therapist)",
         att, "clinic", FALSE)
fit_lmer("clinic_wai_nested", "wai_total ~ session + (1 | therapist/client)", att, "clinic", TRUE)

# srs_alert: SRS total (sum of srs_1..srs_4, NA if any blank) below 36, on attended rows.
att$srs_total <- rowSums(att[, srs_items])
att$srs_alert <- as.integer(att$srs_total < 36)
att$resistance_c <- att$resistance - 2
invisible(fit_glmer("clinic_srs_alert",
          "srs_alert ~ resistance_c + session + (1 | client) + (1 | therapist)", att, "clinic"))
invisible(fit_glmer("clinic_srs_alert_agq",
                    "srs_alert ~ resistance_c + session + (1 | client)", att, "clinic",
                    nAGQ = 7L, tmb = FALSE))

# Discrete-time dropout hazard (person-period rows).
# A client drops out when their last scheduled row has attended == FALSE (the session they did
# not come back to).  Rows at risk: every attended session, except a completer's last attended
# session (the planned end, not at risk).  dropout = 1 on a dropout's last attended session,
# 0 elsewhere.  No-show rows (attended FALSE followed by a return) are not at risk.
# Predictors: wai_c = mean of the answered WAI-SR items minus 3 (scale midpoint); validation
# (0/1 strategy code); session.  Rows with wai_c NA (all items blank) are dropped.
pp <- do.call(rbind, lapply(split(clinic, clinic$client), function(d) {
  d <- d[order(d$session), ]
  completed <- d$attended[nrow(d)]
  a <- d[d$attended, ]
  if (nrow(a) == 0) return(NULL)
  a$dropout <- 0L
  if (completed) a <- a[-nrow(a), ] else a$dropout[nrow(a)] <- 1L
  a
}))
pp$wai_c <- rowMeans(pp[, wai_items], na.rm = TRUE) - 3
pp$wai_c[is.nan(pp$wai_c)] <- NA
pp <- pp[!is.na(pp$wai_c) & !is.na(pp$validation),
         c("client", "therapist", "session", "dropout", "wai_c", "validation")]
rownames(pp) <- NULL
write.csv(pp, file.path(fixture_dir, "lme4_clinic_dropout_pp.csv"), row.names = FALSE)
# A therapist intercept only: with one event per client a client intercept is not identified
# (on these data lme4 and glmmTMB both ran its SD to about 7 on a flat likelihood, with
# meaningless standard errors), which is why alliance_stats' dropout hazard has none.
invisible(fit_glmer("clinic_dropout",
          "dropout ~ wai_c + validation + (1 | therapist)", pp,
          "clinic_dropout_pp",
          note = "Dropout hazard with a therapist intercept; glmmTMB as second opinion"))
