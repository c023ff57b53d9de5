# Time ONE lme4::glmer fit of the power-analysis model on one replicate of the default design.
#
# Run from the repository root:   Rscript tests/reference/R/power_lme4_timing.R
# Reads  tests/reference/fixtures/power_hazard_pp.csv  (person-period rows of replicate 0 of
#        alliance_stats.power_analysis() with its defaults, with the baseline spline and the
#        running within/between columns, written by `python benchmarks/power.py --write-data`)
# Writes tests/reference/fixtures/power_lme4_timing.json: the elapsed time of one fit (median
#        of n_time fits, so start-up noise is not counted), the estimates, and versions.
# benchmarks/power.py prints this time next to alliance_stats' time per replicate. simr's
# powerSim refits the model with lme4 in every replicate, so this is a lower bound on simr's
# cost per replicate. The suite never needs R.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

fixture_dir <- file.path("tests", "reference", "fixtures")
d <- read.csv(file.path(fixture_dir, "power_hazard_pp.csv"))
terms <- setdiff(names(d), c("client", "therapist", "dropout_event"))
f <- as.formula(paste("dropout_event ~", paste(terms, collapse = " + "), "+ (1 | therapist)"))
n_time <- 5L
fit <- function() glmer(f, data = d, family = binomial)  # lme4 defaults, as simr would refit
times <- vapply(seq_len(n_time), function(i) system.time(suppressMessages(fit()))[["elapsed"]], 0)
m <- suppressMessages(fit())
co <- summary(m)$coefficients
out <- list(
  description = paste(
    "One lme4::glmer fit (Laplace, default control) of", paste(deparse(f), collapse = ""),
    "on person-period rows of replicate 0 of the default power design"),
  data = "power_hazard_pp.csv",
  n_rows = nrow(d),
  n_events = sum(d$dropout_event),
  lme4 = list(
    time_median_s = median(times),
    times_s = times,
    n_time = n_time,
    loglik = as.numeric(logLik(m)),
    fixef = lapply(rownames(co), function(t) list(term = t, estimate = co[t, 1],
                                                    std_error = co[t, 2])),
    varcorr = lapply(seq_len(nrow(as.data.frame(VarCorr(m)))), function(i) {
      vc <- as.data.frame(VarCorr(m))
      list(grp = vc$grp[i], vcov = vc$vcov[i], sdcor = vc$sdcor[i])
    }),
    singular = isSingular(m),
    messages = as.list(m@optinfo$conv$lme4$messages)
  ),
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  Matrix = as.character(packageVersion("Matrix"))),
  machine = list(cores = parallel::detectCores()),
  tolerance = "timing only: no numerical comparison is made against this fixture"
)
write_json(out, file.path(fixture_dir, "power_lme4_timing.json"), auto_unbox = TRUE,
           digits = NA, pretty = TRUE)
cat("lme4 median time", median(times), "s over", n_time, "fits\n")
