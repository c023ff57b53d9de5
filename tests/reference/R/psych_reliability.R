# Reference values for alliance_stats.scoring.psychometrics, computed with R psych.
#
# Run from the repository root:  Rscript tests/reference/R/psych_reliability.R
# Writes (committed; the Python tests never need R):
#   tests/reference/fixtures/bfi_items.csv         psych::bfi, the 25 personality items (2800 rows)
#   tests/reference/fixtures/mlr_sessions.csv      simulated long-format WAI-like ratings
#   tests/reference/fixtures/psych_reliability.json  psych results + meta (versions, tolerances)
#
# Definitions matched by alliance_stats:
#   alpha        psych::alpha(x, keys = <reversed item names>)  (pairwise covariances)
#                  total$raw_alpha, total$std.alpha, total$average_r, total$ase,
#                  feldt (alpha.ci) lower/upper, alpha.drop$raw_alpha, item.stats$r.drop
#   omega total  psych::omega(x, nfactors = 1, fm = "minres", key = <+1/-1>)$omega.tot
#                  (one minres factor on the pairwise correlation matrix;
#                   omega.tot = 1 - sum(u2) / sum(R))
#   multilevel   psych::mlr(x, grp, Time, items, aov = TRUE, lme = FALSE, alpha = FALSE)
#                  ANOVA variance components and RkF, R1R, RkR, Rc (Shrout & Lane 2012)
suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "fixtures")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

data(bfi, package = "psych")
items <- bfi[, 1:25]
write.csv(items, file.path(out_dir, "bfi_items.csv"), row.names = FALSE, na = "")

# psych's bfi.keys: the reverse-keyed items carry a minus sign.
scales <- list(
  agreeableness = c("-A1", "A2", "A3", "A4", "A5"),
  conscientiousness = c("C1", "C2", "C3", "-C4", "-C5"),
  extraversion = c("-E1", "-E2", "E3", "E4", "E5"),
  neuroticism = c("N1", "N2", "N3", "N4", "N5"),
  openness = c("O1", "-O2", "O3", "O4", "-O5")
)
scales$total <- unlist(scales, use.names = FALSE)

one_scale <- function(keyed) {
  cols <- sub("^-", "", keyed)
  reversed <- cols[startsWith(keyed, "-")]
  x <- items[, cols]
  a <- suppressWarnings(psych::alpha(x, keys = reversed))
  key <- ifelse(cols %in% reversed, -1, 1)
  om <- suppressWarnings(suppressMessages(
    psych::omega(x, nfactors = 1, fm = "minres", key = key, plot = FALSE)
  ))
  list(
    items = I(cols),
    reversed = I(reversed),
    n_rows = nrow(x),
    n_all_missing = sum(rowSums(is.na(x)) == ncol(x)),
    raw_alpha = a$total$raw_alpha,
    std_alpha = a$total$std.alpha,
    average_r = a$total$average_r,
    ase = a$total$ase,
    feldt_lower = a$feldt$lower.ci[[1]],
    feldt_upper = a$feldt$upper.ci[[1]],
    alpha_drop = setNames(as.list(a$alpha.drop$raw_alpha), cols),
    r_drop = setNames(as.list(a$item.stats$r.drop), cols),
    omega_tot = om$omega.tot,
    omega_alpha = om$alpha,
    loadings = setNames(as.list(as.numeric(om$schmid$sl[, 1])), cols)
  )
}
alpha_results <- lapply(scales, one_scale)

# Multilevel reliability: simulated WAI-SR task items, 40 clients x 8 sessions x 4 items.
set.seed(20240611)
n_client <- 40; n_session <- 8
item_names <- c("wai_1", "wai_2", "wai_10", "wai_12")
grid <- expand.grid(session = seq_len(n_session), client = seq_len(n_client))
person <- rnorm(n_client, 0, 0.6)
trend <- rnorm(n_client, 0.08, 0.05)
occasion <- rnorm(nrow(grid), 0, 0.35)
item_shift <- c(0.2, -0.1, 0, 0.15)
long <- data.frame(client = sprintf("c%02d", grid$client), session = grid$session)
for (j in seq_along(item_names)) {
  raw <- 3.2 + person[grid$client] + trend[grid$client] * (grid$session - 4.5) +
    occasion + item_shift[j] + rnorm(nrow(grid), 0, 0.45)
  long[[item_names[j]]] <- pmin(5, pmax(1, round(raw)))
}
write.csv(long, file.path(out_dir, "mlr_sessions.csv"), row.names = FALSE)

ml <- suppressWarnings(psych::mlr(long, grp = "client", Time = "session", items = item_names,
                                  alpha = FALSE, aov = TRUE, lme = FALSE))
comp <- ml$components
ml_lme <- suppressWarnings(psych::mlr(long, grp = "client", Time = "session", items = item_names,
                                      alpha = FALSE, aov = FALSE, lme = TRUE))
mlr_result <- list(
  items = item_names,
  n_obs = ml$n.obs, n_time = ml$n.time, n_items = ml$n.items,
  components = setNames(as.list(comp[1:7, "variance"]),
                        c("id", "time", "items", "id_x_time", "id_x_items",
                          "time_x_items", "residual")),
  RkF = ml$RkF, R1R = ml$R1R, RkR = ml$RkR, Rc = ml$Rc,
  lme_info_only = list(RkRn = ml_lme$RkRn, Rcn = ml_lme$Rcn)
)

meta <- list(
  script = "tests/reference/R/psych_reliability.R",
  r_version = R.version.string,
  psych_version = as.character(packageVersion("psych")),
  gparotation_version = as.character(packageVersion("GPArotation")),
  nlme_version = as.character(packageVersion("nlme")),
  created = format(Sys.time(), "%Y-%m-%d"),
  data = list(
    bfi_items = "psych::bfi[, 1:25] (2800 rows, 25 items 1-6, missing values kept)",
    mlr_sessions = "simulated, set.seed(20240611), 40 clients x 8 sessions x 4 items 1-5"
  ),
  tolerance = list(alpha = 1e-6, alpha_ci = 1e-6, item_stats = 1e-6, omega = 1e-3,
                   multilevel = 1e-4)
)
write_json(list(meta = meta, alpha = alpha_results, mlr = mlr_result),
           file.path(out_dir, "psych_reliability.json"),
           auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote fixtures to", out_dir, "\n")
