# Firth's bias-reduced logistic regression with brglm2 (type = "AS_mean", which for the logit
# link maximises the Jeffreys-penalised likelihood), on brglm2's public `endometrial` data
# (Heinze & Schemper 2002: 79 patients; NV separates the outcome, so ML has no finite
# estimate). alliance_stats' FirthPenalised deviance with every variance at 0 must give the
# same estimates and standard errors. With the cloglog link the same penalty is the
# Jeffreys-penalised likelihood, brglm2's type = "MPL_Jeffreys".
#
# Run from the repository root:   Rscript tests/reference/R/firth_glm.R
# Writes tests/reference/fixtures/firth_endometrial.json (data included).

suppressPackageStartupMessages({
  library(brglm2)
  library(jsonlite)
})
data("endometrial", package = "brglm2")
m <- glm(HG ~ NV + PI + EH, data = endometrial, family = binomial("logit"),
         method = "brglmFit", type = "AS_mean", epsilon = 1e-12, maxit = 500)
s <- summary(m)$coefficients
mc <- glm(HG ~ NV + PI + EH, data = endometrial, family = binomial("cloglog"),
          method = "brglmFit", type = "MPL_Jeffreys", epsilon = 1e-12, maxit = 500)
sc <- summary(mc)$coefficients
fx <- list(
  versions = list(R = R.version.string, brglm2 = as.character(packageVersion("brglm2"))),
  formula = "HG ~ NV + PI + EH", tolerance = list(estimate_abs = 1e-5, se_rel = 1e-5),
  data = as.list(endometrial),
  coefficients = lapply(rownames(s), function(t) list(term = t, estimate = s[t, "Estimate"],
                                                      std_error = s[t, "Std. Error"])),
  cloglog = lapply(rownames(sc), function(t) list(term = t, estimate = sc[t, "Estimate"],
                                                  std_error = sc[t, "Std. Error"]))
)
path <- file.path("tests", "reference", "fixtures", "firth_endometrial.json")
writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
cat("wrote", path, "\n")
