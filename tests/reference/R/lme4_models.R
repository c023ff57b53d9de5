# Reference fits for alliance_stats.models (lme4, and glmmTMB where lme4 stops short).
#
# Run from the repository root:   Rscript tests/reference/R/lme4_models.R
# Writes tests/reference/fixtures/lme4_<model>.json, one per model, plus the modelling data
# the Python tests read (so R and Python fit exactly the same rows):
#   lme4_sleepstudy.csv        lme4::sleepstudy
#   lme4_verbagg.csv           lme4::VerbAgg (columns used by the model only)
#   lme4_clinic_dropout_pp.csv person-period rows built from the bundled clinic data (see below)
# The clinic linear and session-level binary models read datasets/clinic.csv.gz directly and
# derive their variables with the rules written next to each model; tests/reference/
# test_lme4_models.py derives them the same way in Python and checks the row counts.
#
# Timings: median elapsed seconds of `n_time` fits on this machine (recorded with the fixture).

suppressPackageStartupMessages({
  library(lme4)
  library(glmmTMB)
  library(jsonlite)
})

fixture_dir <- file.path("tests", "reference", "fixtures")
dir.create(fixture_dir, showWarnings = FALSE, recursive = TRUE)
n_time <- 5L

versions <- list(
  R = R.version.string,
  lme4 = as.character(packageVersion("lme4")),
  glmmTMB = as.character(packageVersion("glmmTMB")),
  Matrix = as.character(packageVersion("Matrix")),
  TMB = as.character(packageVersion("TMB"))
)

time_fit <- function(expr_fun) {
  times <- vapply(seq_len(n_time), function(i) system.time(expr_fun())[["elapsed"]], 0.0)
  median(times)
}

vc_frame <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  vc$var1[is.na(vc$var1)] <- NA
  lapply(seq_len(nrow(vc)), function(i) list(
    grp = vc$grp[i], var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
    var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
    vcov = vc$vcov[i], sdcor = vc$sdcor[i]
  ))
}

coef_table <- function(est, se) {
  lapply(seq_along(est), function(i) list(term = names(est)[i], estimate = unname(est[i]),
                                           std_error = unname(se[i])))
}

lme4_block <- function(m, timing) {
  out <- list(
    fixef = coef_table(fixef(m), sqrt(diag(as.matrix(vcov(m))))),
    varcorr = vc_frame(m),
    theta = unname(getME(m, "theta")),
    loglik = as.numeric(logLik(m)),
    df = attr(logLik(m), "df"),
    aic = AIC(m), bic = BIC(m),
    nobs = nobs(m),
    ngrps = as.list(ngrps(m)),
    singular = isSingular(m),
    conv_messages = as.list(m@optinfo$conv$lme4$messages),
    optimizer = m@optinfo$optimizer,
    time_median_s = timing
  )
  if (isGLMM(m)) {
    out$fixef_se_use_hessian_false <- unname(sqrt(diag(as.matrix(vcov(m, use.hessian = FALSE)))))
  }
  out
}

tmb_block <- function(m, timing) {
  fe <- fixef(m)$cond
  vc <- VarCorr(m)$cond
  sds <- lapply(names(vc), function(g) list(grp = g, sd = unname(attr(vc[[g]], "stddev"))))
  list(
    fixef = coef_table(fe, sqrt(diag(vcov(m)$cond))),
    sd = sds,
    loglik = as.numeric(logLik(m)),
    converged = m$fit$convergence == 0 && isTRUE(m$sdr$pdHess),
    time_median_s = timing
  )
}

write_fixture <- function(name, formula, data_name, family, REML, nAGQ, lme4_fit, tmb_fit = NULL,
                          tolerance, note = "") {
  fx <- list(
    model = name, formula = formula, data = data_name, family = family,
    REML = REML, nAGQ = nAGQ, versions = versions, tolerance = tolerance, note = note,
    lme4 = lme4_fit
  )
  if (!is.null(tmb_fit)) fx$glmmTMB <- tmb_fit
  path <- file.path(fixture_dir, paste0("lme4_", name, ".json"))
  writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), path)
  cat("wrote", path, "\n")
}

tol_linear <- list(fixef_rel = 1e-4, sd_rel = 1e-4, loglik_abs = 1e-3)
tol_binom <- list(fixef_abs = 1e-3, loglik_abs = 1e-3, se_rel = 1e-2,
                  rule = "ours >= best(lme4, glmmTMB) - 1e-3")

fit_lmer <- function(name, formula, data, data_name, REML = TRUE) {
  f <- as.formula(formula)
  m <- lmer(f, data = data, REML = REML)
  timing <- time_fit(function() lmer(f, data = data, REML = REML))
  block <- lme4_block(m, timing)
  # The same model with tight optimizer tolerances: where lme4's default stops early (its
  # convergence warning), this is the optimum the Python layer should reach.
  tight <- lmer(f, data = data, REML = REML,
                control = lmerControl(optimizer = "nloptwrap",
                                      optCtrl = list(xtol_rel = 1e-12, ftol_rel = 1e-14,
                                                     ftol_abs = 1e-14, xtol_abs = 1e-12,
                                                     maxeval = 1e5)))
  block$tight <- lme4_block(tight, NA)
  block$tight$tight <- NULL
  write_fixture(name, formula, data_name, "gaussian", REML, 1L, block, tolerance = tol_linear)
  invisible(m)
}

fit_glmer <- function(name, formula, data, data_name, nAGQ = 1L, tmb = TRUE, note = "") {
  f <- as.formula(formula)
  ctrl <- glmerControl(optimizer = "bobyqa")
  m <- glmer(f, data = data, family = binomial, nAGQ = nAGQ, control = ctrl)
  timing <- time_fit(function() glmer(f, data = data, family = binomial, nAGQ = nAGQ,
                                      control = ctrl))
  tmb_fit <- NULL
  if (tmb && nAGQ == 1L) {
    t <- glmmTMB(f, data = data, family = binomial)
    tt <- time_fit(function() glmmTMB(f, data = data, family = binomial))
    tmb_fit <- tmb_block(t, tt)
  }
  write_fixture(name, formula, data_name, "binomial", FALSE, nAGQ, lme4_block(m, timing),
                tmb_fit, tolerance = tol_binom, note = note)
  invisible(m)
}

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
clinic <- read.csv(file.path("datasets", "clinic.csv.gz"), stringsAsFactors = FALSE)
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
