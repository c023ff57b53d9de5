# Reference fits of the engagement models (alliance_stats.engagement) with lme4.
#
# Run from the repository root:   Rscript tests/reference/R/engagement_models.R
# Reads the bundled SIMULATED clinic data (datasets/clinic.csv.gz) and builds everything in R,
# independently of the Python code: the WAI-SR total (item sum, prorated when at most 3 of the
# 12 items are missing), the person-period rows (attended sessions at risk under
# "unplanned_end"), the running within/between splits of the past only, the next-session
# attendance rows, and the natural-spline baseline (splines::ns, knots at quantiles of the
# rows' periods). Writes tests/reference/fixtures/engagement_<model>.json.

suppressPackageStartupMessages({
  library(lme4)
  library(splines)
  library(jsonlite)
})

fixture_dir <- file.path("tests", "reference", "fixtures")
versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                 Matrix = as.character(packageVersion("Matrix")))
strategies <- c("validation", "feedback_checkin", "offering_choices", "explaining_rationale")

d <- read.csv(gzfile("datasets/clinic.csv.gz"), stringsAsFactors = FALSE)
d$attended <- d$attended %in% c("True", "TRUE", "true", "1")
d <- d[order(d$client, d$session), ]
items <- as.matrix(d[, paste0("wai_", 1:12)])
answered <- rowSums(!is.na(items))
d$wai_sr_total <- ifelse(answered >= 9, rowMeans(items, na.rm = TRUE) * 12, NA)
d$wai_sr_total[!d$attended] <- NA

# running split: mean of the attended, non-missing values so far (this session included)
running_split <- function(x, client, attended) {
  x[!attended] <- NA
  ok <- !is.na(x)
  csum <- ave(ifelse(ok, x, 0), client, FUN = cumsum)
  cn <- ave(as.numeric(ok), client, FUN = cumsum)
  between <- ifelse(cn > 0, csum / cn, NA)
  list(between = between, within = x - between)
}
for (v in c(strategies, "wai_sr_total")) {
  s <- running_split(d[[v]], d$client, d$attended)
  d[[paste0(v, "_between")]] <- s$between
  d[[paste0(v, "_within")]] <- s$within
}
d$period <- ave(as.numeric(d$attended), d$client, FUN = cumsum)
last <- !duplicated(d$client, fromLast = TRUE)
last_attended_row <- ave(ifelse(d$attended, d$session, -Inf), d$client, FUN = max) == d$session
dropped <- ave(as.numeric(last & !d$attended), d$client, FUN = max) == 1
d$dropout_event <- as.integer(d$attended & last_attended_row & dropped)
nxt <- c(d$attended[-1], NA)
nxt[last] <- NA
d$attended_next <- ifelse(d$attended, as.integer(nxt), NA)

terms <- c(as.vector(rbind(paste0(strategies, "_within"), paste0(strategies, "_between"))),
           "wai_sr_total_within", "wai_sr_total_between")

fit_one <- function(name, rows, outcome, random, df) {
  # between parts centred at their mean over the rows, as alliance_stats does (slopes unchanged)
  for (t in grep("_between$", terms, value = TRUE)) rows[[t]] <- rows[[t]] - mean(rows[[t]])
  rows <- rows[complete.cases(rows[, c(outcome, terms, "period")]), ]
  f <- as.formula(paste(outcome, "~ ns(period, df =", df, ") +", paste(terms, collapse = " + "),
                        "+", random))
  m <- glmer(f, data = rows, family = binomial,
             control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
  fe <- fixef(m)
  se <- sqrt(diag(as.matrix(vcov(m))))
  vc <- as.data.frame(VarCorr(m))
  fx <- list(
    model = name, formula = deparse1(f), data = "datasets/clinic.csv.gz (rows built in R)",
    versions = versions,
    tolerance = list(fixef_abs = 1e-4, se_rel = 1e-3, loglik_abs = 1e-4, sd_abs = 1e-4),
    nobs = nobs(m), n_events = sum(rows[[outcome]] == (outcome == "dropout_event")),
    loglik = as.numeric(logLik(m)), singular = isSingular(m),
    conv_messages = as.list(m@optinfo$conv$lme4$messages),
    fixef = lapply(terms, function(t) list(term = t, estimate = unname(fe[t]),
                                            std_error = unname(se[t]))),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(grp = vc$grp[i], sdcor = vc$sdcor[i])),
    wai_sr_total_sum = sum(d$wai_sr_total, na.rm = TRUE)
  )
  path <- file.path(fixture_dir, paste0("engagement_", name, ".json"))
  writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
  cat("wrote", path, "\n")
}

# dropout hazard: rows at risk = attended sessions except a completer's final session
completer_final <- last & d$attended
pp <- d[d$attended & !completer_final, ]
fit_one("dropout_hazard", pp, "dropout_event", "(1 | therapist)", 4)

# next-session attendance: attended sessions with a next scheduled session
att <- d[d$attended & !is.na(d$attended_next), ]
fit_one("next_session_attendance", att, "attended_next", "(1 | therapist) + (1 | client)", 4)

# the baseline basis alone: splines::ns on a fixed period vector (checked for the same span)
period <- rep(1:20, times = seq(40, 2, by = -2))
basis <- ns(period, df = 4)
writeLines(toJSON(list(versions = versions, period = period, basis = unclass(basis)[, 1:4],
                       knots = attr(basis, "knots"), tolerance = 1e-8),
                  digits = NA, pretty = FALSE),
           file.path(fixture_dir, "engagement_ns_basis.json"))
cat("wrote", file.path(fixture_dir, "engagement_ns_basis.json"), "\n")
