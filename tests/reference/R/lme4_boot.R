# Parametric bootstrap intervals (issue 15): lme4's confint(method = "boot", boot.type = "perc")
# on sleepstudy (lmer, REML) and cbpp (glmer, binomial with trials).
#
# Run from the repository root:   Rscript tests/reference/R/lme4_boot.R
# Reads tests/reference/fixtures/lme4_sleepstudy.csv and public_cbpp.csv.gz and writes
# tests/reference/fixtures/confint_boot.json: per model the percentile intervals of the fixed
# effects and the standard deviations (lme4's .sig01 ... and .sigma), the bootstrap standard
# deviation of every parameter (for the Monte Carlo error of a comparison), nsim and the time.

source(file.path("tests", "reference", "R", "lme4_helpers.R"))
set.seed(20261203)
nsim <- 1000L

boot_block <- function(m, labels) {
  t0 <- system.time(b <- bootMer(m, function(x) c(fixef(x), getME(x, "sigma") *
                                                    if (isGLMM(x)) 0 else 1,
                                                  as.data.frame(VarCorr(x))$sdcor),
                                 nsim = nsim, seed = 20261203))[["elapsed"]]
  est <- b$t0
  keep <- seq_along(labels)
  ci <- t(apply(b$t, 2, quantile, probs = c(0.025, 0.975), na.rm = TRUE))
  list(
    parameter = labels, estimate = unname(est[keep]),
    conf_low = unname(ci[keep, 1]), conf_high = unname(ci[keep, 2]),
    boot_sd = unname(apply(b$t, 2, sd, na.rm = TRUE)[keep]),
    nsim = nsim, seconds = t0
  )
}

ss <- read.csv(file.path(fixture_dir, "lme4_sleepstudy.csv"))
ss$Subject <- factor(ss$Subject)
m1 <- lmer(Reaction ~ Days + (Days | Subject), data = ss, REML = TRUE)
# statistic order: fixed effects, sigma (twice: as returned, then in the VarCorr frame's rows)
vc1 <- as.data.frame(VarCorr(m1))
lab1 <- c(names(fixef(m1)), "sigma_unused",
          paste(vc1$grp, ifelse(is.na(vc1$var1), "", vc1$var1), ifelse(is.na(vc1$var2), "", vc1$var2)))
b1 <- boot_block(m1, lab1)

cb <- read.csv(file.path(fixture_dir, "public_cbpp.csv.gz"),
               colClasses = c(period = "character", herd = "character"))
cb$period <- factor(cb$period)
cb$herd <- factor(cb$herd)
m2 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cb, family = binomial)
vc2 <- as.data.frame(VarCorr(m2))
lab2 <- c(names(fixef(m2)), "sigma_unused", paste(vc2$grp, vc2$var1, ""))
b2 <- boot_block(m2, lab2)

out <- list(versions = versions, method = "bootMer(nsim), percentile 95% intervals",
            sleepstudy_reml = b1, cbpp_trials = b2)
path <- file.path(fixture_dir, "confint_boot.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
cat("wrote", path, "\n")
