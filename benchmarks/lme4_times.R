# Times lme4 (glmer.nb for the negative binomial; and glmmTMB for GLMMs) on the rows benchmarks/models.py writes, in
# the same run as the Python fits (called by benchmarks/models.py --r; not needed by CI).
#
#   Rscript benchmarks/lme4_times.R manifest.json out.json
#
# manifest.json: a list of {name, csv, formula, family, REML, nAGQ, text, repeats}; `text`
# names the columns read as text (factors with alphabetical levels, as alliance_stats sorts).
# out.json: {name: {lme4_s, lme4_loglik, glmmTMB_s, glmmTMB_loglik}} with median seconds.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
has_tmb <- requireNamespace("glmmTMB", quietly = TRUE)
args <- commandArgs(TRUE)
manifest <- fromJSON(args[1], simplifyVector = FALSE)
out <- list()
for (m in manifest) {
  text <- unlist(m$text)
  classes <- if (length(text)) setNames(rep("character", length(text)), text) else NA
  d <- read.csv(m$csv, colClasses = classes)
  for (col in text) d[[col]] <- factor(d[[col]])
  f <- as.formula(m$formula)
  fit <- if (m$family == "gaussian") {
    function() lmer(f, data = d, REML = m$REML)
  } else if (m$family == "negative_binomial") {
    function() glmer.nb(f, data = d)
  } else {
    fam <- get(m$family)
    function() glmer(f, data = d, family = fam, nAGQ = m$nAGQ,
                     control = glmerControl(optimizer = "bobyqa"))
  }
  times <- vapply(seq_len(m$repeats), function(i) system.time(fit())[["elapsed"]], 0.0)
  res <- list(lme4_s = median(times), lme4_loglik = as.numeric(logLik(fit())))
  if (has_tmb && m$family != "gaussian" && m$nAGQ == 1) {
    tfam <- if (m$family == "negative_binomial") glmmTMB::nbinom2 else get(m$family)
    tfit <- function() glmmTMB::glmmTMB(f, data = d, family = tfam)
    tt <- vapply(seq_len(m$repeats), function(i) system.time(tfit())[["elapsed"]], 0.0)
    res$glmmTMB_s <- median(tt)
    res$glmmTMB_loglik <- as.numeric(logLik(tfit()))
  }
  out[[m$name]] <- res
  cat(m$name, res$lme4_s, "\n", file = stderr())
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), args[2])
