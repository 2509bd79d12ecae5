//! `statement.where.disallow-functions-and-calculations`: a function call or an arithmetic
//! operator applied directly to an indexed column in a filter (WHERE, JOIN … ON, MERGE … ON,
//! ON CONFLICT … WHERE) keeps the index from being used. Columns are resolved scope by scope:
//! a qualified column by its alias, an unqualified one by the tables of its own SELECT first,
//! then the enclosing ones; names hidden by CTEs or derived tables are never guessed at.
//! Reads the catalog only.

use std::collections::HashSet;

use sqlparser::ast::{
    AlterViewOperation, BinaryOperator, Expr, FromTable, FunctionArg, FunctionArgExpr,
    FunctionArguments, InTarget, Insert, JoinConstraint, JoinOperator, MergeClause,
    OnConflictAction, OnInsert, Query, SelectItem, SetExpr, Spanned, Statement, TableFactor,
    TableWithJoins, UnaryOperator, UpdateTableFromKind,
};

use super::{Ctx, Emitter};
use crate::review::Engine;
use crate::review::catalog::Catalog;
use crate::review::registry::RuleId;

/// What one FROM name stands for: a catalog table's indexed and other columns, or something
/// opaque (CTE, derived table, unknown table).
#[derive(Clone)]
struct Source {
    alias: String,
    table: Option<(HashSet<String>, HashSet<String>)>,
}

#[derive(Clone, Default)]
struct Scope {
    local: Vec<Source>,
    outer: Vec<Source>,
    /// Some local source cannot be resolved, so an unqualified name may be one of its columns.
    unresolved: bool,
}

impl Scope {
    fn combined(&self) -> Vec<Source> {
        let mut all = self.outer.clone();
        all.retain(|o| !self.local.iter().any(|l| l.alias == o.alias));
        all.extend(self.local.iter().cloned());
        all
    }

    /// Whether the column reference names an indexed column.
    fn indexed(&self, qualifier: Option<&str>, column: &str) -> bool {
        let col = column.to_lowercase();
        if let Some(q) = qualifier {
            let q = q.to_lowercase();
            let src = self
                .local
                .iter()
                .find(|s| s.alias == q)
                .or_else(|| self.outer.iter().find(|s| s.alias == q));
            return src
                .and_then(|s| s.table.as_ref())
                .is_some_and(|t| t.0.contains(&col));
        }
        let local_claims = self
            .local
            .iter()
            .filter_map(|s| s.table.as_ref())
            .any(|t| t.1.contains(&col));
        if local_claims {
            return self
                .local
                .iter()
                .filter_map(|s| s.table.as_ref())
                .any(|t| t.0.contains(&col));
        }
        if self.unresolved {
            return false;
        }
        self.outer
            .iter()
            .filter_map(|s| s.table.as_ref())
            .any(|t| t.0.contains(&col))
    }
}

struct Walker<'a, 'e, 'o> {
    catalog: &'a Catalog,
    engine: Engine,
    ctes: Vec<String>,
    em: &'e mut Emitter<'o>,
}

/// Checks one statement.
pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    let mut w = Walker {
        catalog: &ctx.state.catalog,
        engine: ctx.engine,
        ctes: Vec::new(),
        em,
    };
    w.statement(ctx.stmt, &[]);
}

fn ident_name(e: &Expr) -> Option<(Option<&str>, &str)> {
    match e {
        Expr::Identifier(i) => Some((None, i.value.as_str())),
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => Some((
            Some(parts[parts.len() - 2].value.as_str()),
            parts[parts.len() - 1].value.as_str(),
        )),
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => ident_name(inner),
        _ => None,
    }
}

impl Walker<'_, '_, '_> {
    fn statement(&mut self, stmt: &Statement, outer: &[Source]) {
        match stmt {
            Statement::Query(q) => self.query(q, outer),
            Statement::CreateView(v) => self.query(&v.query, outer),
            Statement::AlterView(v) => {
                if let AlterViewOperation::As { query, .. } = &v.operation {
                    self.query(query, outer);
                }
            }
            Statement::CreateTable(ct) => {
                if let Some(q) = &ct.query {
                    self.query(q, outer);
                }
            }
            Statement::Insert(ins) => self.insert(ins, outer),
            Statement::Update(u) => {
                let mut froms: Vec<&TableWithJoins> = vec![&u.table];
                if let Some(UpdateTableFromKind::BeforeSet(f) | UpdateTableFromKind::AfterSet(f)) =
                    &u.from
                {
                    froms.extend(f);
                }
                let scope = self.scope(&froms, outer);
                self.filter(u.selection.as_ref(), &scope);
                self.joins(&froms, &scope);
                let all = scope.combined();
                for a in &u.assignments {
                    self.nested(&a.value, &all);
                }
                self.items(u.returning.as_deref(), &all);
            }
            Statement::Delete(d) => {
                let mut froms: Vec<&TableWithJoins> = match &d.from {
                    FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => {
                        f.iter().collect()
                    }
                };
                if let Some(using) = &d.using {
                    froms.extend(using);
                }
                let scope = self.scope(&froms, outer);
                self.filter(d.selection.as_ref(), &scope);
                self.joins(&froms, &scope);
                self.items(d.returning.as_deref(), &scope.combined());
            }
            Statement::Merge(m) => {
                let mut scope = Scope {
                    outer: outer.to_vec(),
                    ..Scope::default()
                };
                self.factor(&m.table, &mut scope, outer);
                self.factor(&m.source, &mut scope, outer);
                self.filter(Some(&m.on), &scope);
                for MergeClause { predicate, .. } in &m.clauses {
                    self.filter(predicate.as_ref(), &scope);
                }
            }
            _ => {}
        }
    }

    fn insert(&mut self, ins: &Insert, outer: &[Source]) {
        if let Some(src) = &ins.source {
            self.query(src, outer);
        }
        let target = self.table_source(&ins.table.to_string(), None);
        let scope = Scope {
            local: vec![target],
            outer: outer.to_vec(),
            unresolved: false,
        };
        let all = scope.combined();
        for a in &ins.assignments {
            self.nested(&a.value, &all);
        }
        match &ins.on {
            Some(OnInsert::OnConflict(oc)) => {
                if let OnConflictAction::DoUpdate(du) = &oc.action {
                    self.filter(du.selection.as_ref(), &scope);
                }
            }
            Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
                for a in assignments {
                    self.nested(&a.value, &all);
                }
            }
            _ => {}
        }
        self.items(ins.returning.as_deref(), &all);
    }

    fn table_source(&self, name: &str, alias: Option<&str>) -> Source {
        let bare = name
            .rsplit('.')
            .next()
            .unwrap_or(name)
            .trim_matches(['"', '`']);
        let key = alias.unwrap_or(bare).to_lowercase();
        let qualified = name.contains('.');
        // A MySQL qualifier names another database, whose schema the catalog does not hold.
        let other_database = qualified && self.engine == Engine::Mysql;
        if other_database || (!qualified && self.ctes.iter().any(|c| c.eq_ignore_ascii_case(bare)))
        {
            return Source {
                alias: key,
                table: None,
            };
        }
        let parsed = sqlparser::ast::ObjectName::from(
            name.split('.')
                .map(|p| sqlparser::ast::Ident::new(p.trim_matches(['"', '`'])))
                .collect::<Vec<_>>(),
        );
        let table = self.catalog.table(&parsed).map(|t| {
            let indexed = t
                .indexes
                .iter()
                .flat_map(|i| i.columns.iter())
                .map(|c| c.trim_matches(['"', '`']).to_lowercase())
                .collect();
            let all = t.columns.iter().map(|c| c.name.to_lowercase()).collect();
            (indexed, all)
        });
        Source { alias: key, table }
    }

    fn factor(&mut self, f: &TableFactor, scope: &mut Scope, outer: &[Source]) {
        match f {
            TableFactor::Table { name, alias, .. } => {
                let alias = alias.as_ref().map(|a| a.name.value.as_str());
                let src = self.table_source(&name.to_string(), alias);
                scope.unresolved |= src.table.is_none();
                push_source(scope, src);
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                self.query(subquery, outer);
                scope.unresolved = true;
                if let Some(a) = alias {
                    scope.local.push(Source {
                        alias: a.name.value.to_lowercase(),
                        table: None,
                    });
                }
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.factor(&table_with_joins.relation, scope, outer);
                for j in &table_with_joins.joins {
                    self.factor(&j.relation, scope, outer);
                }
            }
            _ => scope.unresolved = true,
        }
    }

    fn scope(&mut self, froms: &[&TableWithJoins], outer: &[Source]) -> Scope {
        let mut scope = Scope {
            outer: outer.to_vec(),
            ..Scope::default()
        };
        for twj in froms {
            self.factor(&twj.relation, &mut scope, outer);
            for j in &twj.joins {
                self.factor(&j.relation, &mut scope, outer);
            }
        }
        scope
    }

    fn joins(&mut self, froms: &[&TableWithJoins], scope: &Scope) {
        for twj in froms {
            for j in &twj.joins {
                if let Some(JoinConstraint::On(on)) = join_constraint(&j.join_operator) {
                    self.filter(Some(on), scope);
                }
            }
        }
    }

    fn query(&mut self, q: &Query, outer: &[Source]) {
        let depth = self.ctes.len();
        if let Some(with) = &q.with {
            if with.recursive {
                self.ctes
                    .extend(with.cte_tables.iter().map(|c| c.alias.name.value.clone()));
            }
            for cte in &with.cte_tables {
                self.query(&cte.query, &[]);
                if !with.recursive {
                    self.ctes.push(cte.alias.name.value.clone());
                }
            }
        }
        self.set_expr(&q.body, outer);
        self.ctes.truncate(depth);
    }

    fn set_expr(&mut self, body: &SetExpr, outer: &[Source]) {
        match body {
            SetExpr::Select(s) => {
                let froms: Vec<&TableWithJoins> = s.from.iter().collect();
                let scope = self.scope(&froms, outer);
                self.filter(s.selection.as_ref(), &scope);
                self.joins(&froms, &scope);
                let all = scope.combined();
                self.items(Some(&s.projection), &all);
                if let Some(h) = &s.having {
                    self.nested(h, &all);
                }
            }
            SetExpr::Query(q) => self.query(q, outer),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left, outer);
                self.set_expr(right, outer);
            }
            SetExpr::Values(v) => {
                for row in &v.rows {
                    for e in &row.content {
                        self.nested(e, outer);
                    }
                }
            }
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
                self.statement(s, outer);
            }
            _ => {}
        }
    }

    fn items(&mut self, items: Option<&[SelectItem]>, scope: &[Source]) {
        for item in items.unwrap_or_default() {
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                self.nested(e, scope);
            }
        }
    }

    /// Subqueries inside a non-filter expression (projection, SET, RETURNING, VALUES).
    fn nested(&mut self, e: &Expr, scope: &[Source]) {
        let mut subqueries: Vec<&Query> = Vec::new();
        collect_subqueries(e, &mut subqueries);
        for q in subqueries {
            self.query(q, scope);
        }
    }

    fn filter(&mut self, e: Option<&Expr>, scope: &Scope) {
        let Some(e) = e else { return };
        let mut subqueries: Vec<&Query> = Vec::new();
        let mut hits: Vec<&Expr> = Vec::new();
        walk_filter(e, scope, &mut hits, &mut subqueries);
        for hit in hits {
            let span = hit.span();
            self.em.emit_span(
                RuleId::StatementWhereDisallowFunctionsAndCalculations,
                span,
                || {
                    format!(
                        "`{hit}` applies a function or calculation to an indexed column in a filter, so the index cannot be used"
                    )
                },
            );
        }
        let all = scope.combined();
        for q in subqueries {
            self.query(q, &all);
        }
    }
}

/// Adds a FROM source; two sources under one name make that name ambiguous (opaque).
fn push_source(scope: &mut Scope, src: Source) {
    if let Some(existing) = scope.local.iter_mut().find(|s| s.alias == src.alias) {
        existing.table = None;
        scope.unresolved = true;
    } else {
        scope.local.push(src);
    }
}

fn join_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c)
        | JoinOperator::StraightJoin(c) => Some(c),
        _ => None,
    }
}

fn is_arithmetic(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo
            | BinaryOperator::MyIntegerDivide
            | BinaryOperator::BitwiseAnd
            | BinaryOperator::BitwiseOr
            | BinaryOperator::BitwiseXor
            | BinaryOperator::PGExp
            | BinaryOperator::PGBitwiseXor
            | BinaryOperator::PGBitwiseShiftLeft
            | BinaryOperator::PGBitwiseShiftRight
    )
}

fn names_indexed(e: &Expr, scope: &Scope) -> bool {
    ident_name(e).is_some_and(|(q, c)| scope.indexed(q, c))
}

fn function_args(e: &Expr) -> Vec<&Expr> {
    let Expr::Function(f) = e else {
        return Vec::new();
    };
    let FunctionArguments::List(list) = &f.args else {
        return Vec::new();
    };
    list.args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x))
            | FunctionArg::Named {
                arg: FunctionArgExpr::Expr(x),
                ..
            } => Some(x),
            _ => None,
        })
        .collect()
}

/// Finds offending expressions in a filter (outermost first) and the subqueries to check in
/// their own scope.
fn walk_filter<'e>(
    e: &'e Expr,
    scope: &Scope,
    hits: &mut Vec<&'e Expr>,
    subqueries: &mut Vec<&'e Query>,
) {
    match e {
        Expr::Function(_) => {
            let args = function_args(e);
            if args.iter().any(|a| names_indexed(a, scope)) {
                hits.push(e);
            }
            for a in args {
                walk_filter(a, scope, hits, subqueries);
            }
            return;
        }
        Expr::BinaryOp { left, op, right }
            if is_arithmetic(op) && (names_indexed(left, scope) || names_indexed(right, scope)) =>
        {
            hits.push(e);
        }
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::BitwiseNot,
            expr,
        } if names_indexed(expr, scope) => hits.push(e),
        Expr::Subquery(q) | Expr::Exists { subquery: q, .. } => {
            subqueries.push(q);
            return;
        }
        Expr::In {
            expr,
            target: InTarget::Subquery(subquery),
            ..
        } => {
            walk_filter(expr, scope, hits, subqueries);
            subqueries.push(subquery);
            return;
        }
        _ => {}
    }
    for child in children(e) {
        walk_filter(child, scope, hits, subqueries);
    }
}

/// The direct sub-expressions of the expression kinds a filter is made of.
fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp { left, right, .. } => vec![left, right],
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsNotFalse(expr)
        | Expr::Cast { expr, .. } => vec![expr],
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
            vec![expr, pattern]
        }
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::In {
            expr,
            target: InTarget::List(list),
            ..
        } => {
            let mut v: Vec<&Expr> = vec![expr];
            v.extend(list);
            v
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let mut v: Vec<&Expr> = operand.iter().map(AsRef::as_ref).collect();
            for c in conditions {
                v.push(&c.condition);
                v.push(&c.result);
            }
            v.extend(else_result.iter().map(AsRef::as_ref));
            v
        }
        Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => vec![left, right],
        _ => Vec::new(),
    }
}

/// Subqueries anywhere in an expression (not descending into them).
fn collect_subqueries<'e>(e: &'e Expr, out: &mut Vec<&'e Query>) {
    match e {
        Expr::Subquery(q) | Expr::Exists { subquery: q, .. } => out.push(q),
        Expr::In {
            expr,
            target: InTarget::Subquery(subquery),
            ..
        } => {
            collect_subqueries(expr, out);
            out.push(subquery);
        }
        Expr::Function(_) => {
            for a in function_args(e) {
                collect_subqueries(a, out);
            }
        }
        _ => {
            for c in children(e) {
                collect_subqueries(c, out);
            }
        }
    }
}
