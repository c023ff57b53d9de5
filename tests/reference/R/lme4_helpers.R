# Shared by lme4_models.R and lme4_public.R: fixture writing, lme4 and glmmTMB summaries.
# Sourced from the repository root (the scripts' working directory).

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

