//! `#[metrics(...)]`: one item per metric, expanded into typed constants, the id enum,
//! its definitions and the label-key enum.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Expr, ExprArray, ExprCall, ExprLit, ExprMethodCall, ExprPath, ExprReference,
    GenericArgument, Ident, ItemEnum, Lit, LitStr, Path, Token, Type, Variant,
};

use crate::{first_paragraph, snake_case};

const ARGS_HELP: &str = "write `#[catalog::metrics(prefix = \"app_\", labels = [LabelType, ...], \
    subsystems = [SUBSYSTEM, ...])]` (optional: `runbook_base = URL`, `label_enum = Label`, \
    `name = \"app\"`)";

/// The catalog-wide settings of `#[metrics(...)]`.
struct Args {
    prefix: LitStr,
    labels: Vec<Path>,
    subsystems: ExprArray,
    name: Option<LitStr>,
    runbook_base: Option<Expr>,
    label_enum: Ident,
}

struct Setting {
    key: Ident,
    value: Expr,
}

impl Parse for Setting {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        Ok(Setting { key, value })
    }
}

fn ident_of(expr: &Expr, what: &str) -> syn::Result<Ident> {
    match expr {
        Expr::Path(ExprPath { path, .. }) if path.get_ident().is_some() => {
            Ok(path.get_ident().cloned().expect("checked"))
        }
        other => Err(syn::Error::new(
            other.span(),
            format!("{what}: write an identifier, e.g. `Label`"),
        )),
    }
}

impl Args {
    fn parse(tokens: TokenStream) -> syn::Result<Args> {
        let settings = Punctuated::<Setting, Token![,]>::parse_terminated.parse2(tokens)?;
        let (mut prefix, mut labels, mut subsystems) = (None, None, None);
        let (mut runbook_base, mut label_enum, mut name) = (None, None, None);
        for Setting { key, value } in settings {
            match key.to_string().as_str() {
                "prefix" => match value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => prefix = Some(s),
                    other => {
                        return Err(syn::Error::new(
                            other.span(),
                            "`prefix` is a string literal, e.g. `prefix = \"sms_\"`",
                        ));
                    }
                },
                "labels" => {
                    let Expr::Array(array) = value else {
                        return Err(syn::Error::new(
                            value.span(),
                            "`labels` lists the catalog's label types: `labels = [SourceId, ErrorType]`",
                        ));
                    };
                    let mut paths = Vec::new();
                    for element in array.elems {
                        match element {
                            Expr::Path(ExprPath { path, .. }) => paths.push(path),
                            other => {
                                return Err(syn::Error::new(
                                    other.span(),
                                    "a label type's path, e.g. `SourceId` (types deriving `catalog::LabelValue`)",
                                ));
                            }
                        }
                    }
                    labels = Some(paths);
                }
                "subsystems" => match value {
                    Expr::Array(array) => subsystems = Some(array),
                    other => {
                        return Err(syn::Error::new(
                            other.span(),
                            "`subsystems` lists the subsystems in flow order: `subsystems = [SOURCES, GATEWAY]`",
                        ));
                    }
                },
                "name" => match value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => name = Some(s),
                    other => {
                        return Err(syn::Error::new(
                            other.span(),
                            "`name` is a string literal, e.g. `name = \"storage\"`",
                        ));
                    }
                },
                "samples_dropped" | "series_overflow" => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "`{key}` is gone: the recorder brings its own self-metrics catalog \
                             (`recorder::SelfMetric`); remove the setting and the variant it named"
                        ),
                    ));
                }
                "runbook_base" => runbook_base = Some(value),
                "label_enum" => label_enum = Some(ident_of(&value, "label_enum")?),
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown setting `{key}`: {ARGS_HELP}"),
                    ));
                }
            }
        }
        let missing = |what: &str| {
            syn::Error::new(
                Span::call_site(),
                format!("`#[catalog::metrics]` needs `{what}`: {ARGS_HELP}"),
            )
        };
        Ok(Args {
            prefix: prefix.ok_or_else(|| missing("prefix"))?,
            labels: labels.ok_or_else(|| missing("labels"))?,
            subsystems: subsystems.ok_or_else(|| missing("subsystems"))?,
            name,
            runbook_base,
            label_enum: label_enum.unwrap_or_else(|| Ident::new("Label", Span::call_site())),
        })
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }

    fn marker(self) -> Ident {
        let name = match self {
            Kind::Counter => "CounterMetric",
            Kind::Gauge => "GaugeMetric",
            Kind::Histogram => "HistogramMetric",
        };
        Ident::new(name, Span::call_site())
    }
}

const DECLARATION_HELP: &str = "a metric is declared as `counter(\"app_x_total\", &SUBSYSTEM)`, \
    `gauge(\"app_x\", &SUBSYSTEM)` or `histogram(\"app_x_seconds\", &SUBSYSTEM, BUCKETS)`, \
    followed by setters such as `.labels::<(SourceId<'_>, ErrorType)>()`, `.unit(Unit::Seconds)`, \
    `.max_series(100)`, `.alerts(&[...])`, `.slos(&[...])`";

/// One metric's declaration, taken apart.
struct Declaration {
    /// The `MetricDef` expression, help inserted, `.labels::<T>()` turned into keys and
    /// `.slos(..)` taken out.
    def: TokenStream,
    kind: Kind,
    /// The typed label set, `'_` replaced by `'a`; `()` without labels.
    labels: TokenStream,
    /// The label set as written, for the docs.
    labels_doc: Option<String>,
    slos: Vec<Expr>,
    /// Name, unit and bound as written, for the docs.
    name_doc: String,
    setters_doc: Vec<String>,
}

struct Walker<'a> {
    args: &'a Args,
    id: &'a Ident,
    help: &'a LitStr,
    kind: Option<Kind>,
    labels: Option<(TokenStream, String)>,
    slos: Vec<Expr>,
    name_doc: String,
    setters_doc: Vec<String>,
}

/// Replaces `'_` by `'a`, so a label set written for a call site becomes a GAT.
struct NameLifetimes;

impl VisitMut for NameLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        if lifetime.ident == "_" {
            *lifetime = syn::Lifetime::new("'a", lifetime.span());
        }
    }
}

fn tokens_text(tokens: &impl ToTokens) -> String {
    tokens.to_token_stream().to_string()
}

impl Walker<'_> {
    fn walk(&mut self, expr: &Expr) -> syn::Result<TokenStream> {
        match expr {
            Expr::MethodCall(call) => self.method(call),
            Expr::Call(call) => self.root(call),
            other => Err(syn::Error::new(other.span(), DECLARATION_HELP)),
        }
    }

    fn root(&mut self, call: &ExprCall) -> syn::Result<TokenStream> {
        let Expr::Path(ExprPath { path, .. }) = &*call.func else {
            return Err(syn::Error::new(call.func.span(), DECLARATION_HELP));
        };
        let Some(func) = path.get_ident() else {
            return Err(syn::Error::new(path.span(), DECLARATION_HELP));
        };
        let (kind, arity, usage) = match func.to_string().as_str() {
            "counter" => (Kind::Counter, 2, "counter(\"app_x_total\", &SUBSYSTEM)"),
            "gauge" => (Kind::Gauge, 2, "gauge(\"app_x\", &SUBSYSTEM)"),
            "histogram" => (
                Kind::Histogram,
                3,
                "histogram(\"app_x_seconds\", &SUBSYSTEM, BUCKETS)",
            ),
            _ => {
                return Err(syn::Error::new(
                    func.span(),
                    format!("`{func}` is not a metric kind: {DECLARATION_HELP}"),
                ));
            }
        };
        if call.args.len() != arity {
            return Err(syn::Error::new(
                call.args.span(),
                format!(
                    "`{func}` takes {arity} arguments: `{usage}` (the help is the doc comment)"
                ),
            ));
        }
        self.kind = Some(kind);
        let mut args = call.args.iter();
        let name = args.next().expect("arity checked");
        self.name_doc = match name {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s.value(),
            other => tokens_text(other),
        };
        let rest: Vec<&Expr> = args.collect();
        let (id, help) = (self.id, self.help);
        if let Kind::Histogram = kind {
            self.setters_doc
                .push(format!("buckets: `{}`", tokens_text(rest[1])));
        }
        Ok(quote_spanned! {func.span()=>
            ::catalog::MetricDef::<#id>::#func(#name, #help, #(#rest),*)
        })
    }

    fn method(&mut self, call: &ExprMethodCall) -> syn::Result<TokenStream> {
        let receiver = self.walk(&call.receiver)?;
        let method = &call.method;
        match method.to_string().as_str() {
            "labels" => self.labels(call, receiver),
            "slos" => {
                let element_list = match call.args.first() {
                    Some(Expr::Reference(ExprReference { expr, .. })) if call.args.len() == 1 => {
                        match &**expr {
                            Expr::Array(array) => Some(array.elems.iter().cloned().collect()),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let Some(elements) = element_list else {
                    return Err(syn::Error::new(
                        call.args.span(),
                        "`.slos` takes a slice literal: `.slos(&[SloDef::availability(...)])`",
                    ));
                };
                self.slos.extend::<Vec<Expr>>(elements);
                Ok(receiver)
            }
            name => {
                if matches!(name, "unit" | "max_series" | "unused") {
                    self.setters_doc
                        .push(format!("{name}: `{}`", tokens_text(&call.args)));
                }
                let turbofish = &call.turbofish;
                // A borrowed argument (`&[Alert::new(..)]`) becomes its own inline
                // constant, so it lives as long as the definition (`'static`).
                let args = call.args.iter().map(|arg| match arg {
                    Expr::Reference(_) => quote_spanned! {arg.span()=> const { #arg } },
                    other => other.to_token_stream(),
                });
                Ok(quote! { #receiver.#method #turbofish (#(#args),*) })
            }
        }
    }

    fn labels(&mut self, call: &ExprMethodCall, receiver: TokenStream) -> syn::Result<TokenStream> {
        let usage = "name the label types, in exposition order: `.labels::<(SourceId<'_>, ErrorType)>()` \
                     (one label: `.labels::<ErrorType>()`)";
        if !call.args.is_empty() {
            return Err(syn::Error::new(call.args.span(), usage));
        }
        let ty = match &call.turbofish {
            Some(generics) if generics.args.len() == 1 => match generics.args.first() {
                Some(GenericArgument::Type(ty)) => ty.clone(),
                _ => return Err(syn::Error::new(generics.span(), usage)),
            },
            Some(generics) => return Err(syn::Error::new(generics.span(), usage)),
            None => return Err(syn::Error::new(call.method.span(), usage)),
        };
        if self.labels.is_some() {
            return Err(syn::Error::new(
                call.method.span(),
                "labels are already set for this metric: keep one `.labels::<...>()`",
            ));
        }
        let elements: Vec<&Type> = match &ty {
            Type::Tuple(tuple) if tuple.elems.is_empty() => {
                return Err(syn::Error::new(
                    ty.span(),
                    "a metric without labels leaves out `.labels`",
                ));
            }
            Type::Tuple(tuple) => tuple.elems.iter().collect(),
            Type::Paren(paren) => vec![&*paren.elem],
            other => vec![other],
        };
        let label_enum = &self.args.label_enum;
        let mut keys = Vec::new();
        for element in elements {
            let Type::Path(path) = element else {
                return Err(syn::Error::new(element.span(), usage));
            };
            let last = path.path.segments.last().expect("a path has a segment");
            let known = self
                .args
                .labels
                .iter()
                .any(|l| l.segments.last().is_some_and(|s| s.ident == last.ident));
            if !known {
                let list: Vec<String> = self
                    .args
                    .labels
                    .iter()
                    .map(|l| tokens_text(l).replace(' ', ""))
                    .collect();
                let known = if list.is_empty() {
                    "this catalog declares no label type:".to_string()
                } else {
                    format!("use one of {} or", list.join(", "))
                };
                return Err(syn::Error::new(
                    last.ident.span(),
                    format!(
                        "`{}` is not a label of this catalog: {known} add it to `labels = [...]` of `#[catalog::metrics]`",
                        last.ident,
                    ),
                ));
            }
            let variant = &last.ident;
            keys.push(quote_spanned! {variant.span()=> #label_enum::#variant});
        }
        let doc = tokens_text(&ty)
            .replace(" < ", "<")
            .replace(" >", ">")
            .replace("< ", "<")
            .replace(" ,", ",");
        let mut named = ty.clone();
        NameLifetimes.visit_type_mut(&mut named);
        self.labels = Some((named.into_token_stream(), doc));
        Ok(quote! { #receiver.labels(&[#(#keys),*]) })
    }
}

fn declaration(
    args: &Args,
    id: &Ident,
    variant: &Variant,
    help: &LitStr,
) -> syn::Result<Declaration> {
    let attrs: Vec<&Attribute> = variant
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("metric"))
        .collect();
    let attr = match attrs.as_slice() {
        [attr] => attr,
        [] => {
            return Err(syn::Error::new(
                variant.ident.span(),
                format!(
                    "declare the metric: add `#[metric(counter(\"app_x_total\", &SUBSYSTEM))]` above `{}`",
                    variant.ident
                ),
            ));
        }
        [_, second, ..] => {
            return Err(syn::Error::new(
                second.span(),
                "one `#[metric(...)]` per metric: chain the setters in the first one",
            ));
        }
    };
    let expr: Expr = attr.parse_args()?;
    let mut walker = Walker {
        args,
        id,
        help,
        kind: None,
        labels: None,
        slos: Vec::new(),
        name_doc: String::new(),
        setters_doc: Vec::new(),
    };
    let def = walker.walk(&expr)?;
    let (labels, labels_doc) = match walker.labels {
        Some((labels, doc)) => (labels, Some(doc)),
        None => (quote!(()), None),
    };
    Ok(Declaration {
        def,
        kind: walker.kind.expect("the walk ends at the root call"),
        labels,
        labels_doc,
        slos: walker.slos,
        name_doc: walker.name_doc,
        setters_doc: walker.setters_doc,
    })
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = Args::parse(args)?;
    let item: ItemEnum = syn::parse2(item)?;
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.generics.span(),
            "a catalog enum takes no generic parameters",
        ));
    }
    let vis = &item.vis;
    // The per-metric types live one module down: as visible as the enum.
    let inner_vis = match vis {
        syn::Visibility::Inherited => quote!(pub(super)),
        syn::Visibility::Public(_) => quote!(pub),
        syn::Visibility::Restricted(_) => quote!(pub(crate)),
    };
    let name = &item.ident;
    let id = format_ident!("{}Id", name);
    let module = Ident::new(&snake_case(&name.to_string()), name.span());
    let label_enum = &args.label_enum;
    let docs: Vec<&Attribute> = item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    if let Some(other) = item.attrs.iter().find(|a| !a.path().is_ident("doc")) {
        return Err(syn::Error::new(
            other.span(),
            "the catalog enum takes only doc comments: its derives are generated",
        ));
    }

    let mut variants = Vec::new();
    let mut variant_docs = Vec::new();
    let mut arms = Vec::new();
    let mut typed = Vec::new();
    let mut consts = Vec::new();
    let mut slos = Vec::new();
    for variant in &item.variants {
        let ident = &variant.ident;
        if !matches!(variant.fields, syn::Fields::Unit) || variant.discriminant.is_some() {
            return Err(syn::Error::new(
                variant.span(),
                "a metric is a plain variant: remove its fields or discriminant",
            ));
        }
        let Some(help) = first_paragraph(&variant.attrs) else {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "document `{ident}`: its doc comment is the metric's HELP text, e.g. `/// Requests that failed.`"
                ),
            ));
        };
        let help = LitStr::new(&help, ident.span());
        let declaration = declaration(&args, &id, variant, &help)?;
        let doc_attrs: Vec<&Attribute> = variant
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect();
        let def = &declaration.def;
        arms.push(quote_spanned! {ident.span()=> #id::#ident => const { &#def } });
        let labels = &declaration.labels;
        let marker = declaration.kind.marker();
        let mut summary = format!("`{}`: {}", declaration.name_doc, declaration.kind.word());
        match &declaration.labels_doc {
            Some(labels) => summary.push_str(&format!(", labels `{labels}`")),
            None => summary.push_str(", no labels"),
        }
        for setter in &declaration.setters_doc {
            summary.push_str(&format!(", {setter}"));
        }
        let summary = format!("{summary}. Definition: [`{id}::def`].");
        let type_doc = format!("The type of [`{name}::{ident}`](super::{name}::{ident}).");
        typed.push(quote_spanned! {ident.span()=>
            #[doc = #type_doc]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            #inner_vis struct #ident;
        });
        consts.push(quote_spanned! {ident.span()=>
            #(#doc_attrs)*
            #[doc = ""]
            #[doc = #summary]
            #[allow(non_upper_case_globals)]
            pub const #ident: #module::#ident = #module::#ident;
        });
        let impls = quote_spanned! {ident.span()=>
            impl ::catalog::TypedMetric for #module::#ident {
                type Catalog = #id;
                type Labels<'a> = #labels;
                const ID: #id = #id::#ident;
            }

            impl ::catalog::#marker for #module::#ident {}

            #[allow(dead_code)]
            impl #module::#ident {
                /// This metric's id.
                #[inline]
                pub const fn id(self) -> #id {
                    #id::#ident
                }

                /// This metric's definition.
                pub const fn def(self) -> &'static ::catalog::MetricDef<#id> {
                    #id::#ident.def()
                }
            }

            impl ::core::convert::From<#module::#ident> for #id {
                fn from(_: #module::#ident) -> Self {
                    #id::#ident
                }
            }
        };
        variant_docs.push(impls);
        slos.extend(declaration.slos);
        variants.push(quote_spanned! {ident.span()=> #(#doc_attrs)* #ident });
    }

    let prefix = &args.prefix;
    let metric_count = variants.len();
    let catalog_name = match &args.name {
        Some(name) => name.value(),
        None => prefix.value().trim_end_matches('_').to_string(),
    };
    let subsystems = &args.subsystems;
    let runbook = args.runbook_base.as_ref().map(|base| {
        quote! { const RUNBOOK_BASE: &'static str = #base; }
    });
    let label_idents: Vec<&Ident> = args
        .labels
        .iter()
        .map(|p| &p.segments.last().expect("a path has a segment").ident)
        .collect();
    let label_paths = &args.labels;
    let label_docs: Vec<String> = label_idents
        .iter()
        .map(|l| format!("The label of [`{l}`]."))
        .collect();
    let id_doc = format!(
        "The id of each metric of [`{name}`]: iterated with strum, the [`MetricCatalog`](::catalog::MetricCatalog) that generators and the recorder take."
    );
    let name_doc = format!(
        "Each associated constant is one metric, typed: recording functions take it with the label values its declaration names, checked at compile time. Ids for iteration and generators: [`{id}`]."
    );
    let label_enum_doc = format!("Label keys of [`{name}`], one per label type.");
    let module_doc = format!("One zero-sized type per metric of [`{name}`](super::{name}).");

    Ok(quote! {
        #(#docs)*
        #[doc = ""]
        #[doc = #name_doc]
        #vis enum #name {}

        // Generated API: a catalog uses some of it, never necessarily all.
        #[allow(non_upper_case_globals, dead_code)]
        impl #name {
            #(#consts)*
        }

        #[doc = #module_doc]
        #vis mod #module {
            #(#typed)*
        }

        #(#variant_docs)*

        #[doc = #id_doc]
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            ::catalog::__private::strum::EnumIter,
            ::catalog::__private::strum::EnumCount,
            ::catalog::__private::strum::VariantArray,
        )]
        #[strum(crate = "::catalog::__private::strum")]
        #vis enum #id {
            #(#variants,)*
        }

        impl #id {
            /// The definition of this metric (same as [`MetricCatalog::def`](::catalog::MetricCatalog::def), usable in `const`).
            pub const fn def(self) -> &'static ::catalog::MetricDef<#id> {
                match self {
                    #(#arms,)*
                }
            }
        }

        impl ::catalog::CatalogLabels for #id {
            type Label = #label_enum;
        }

        impl ::catalog::MetricCatalog for #id {
            const PREFIX: &'static str = #prefix;
            const NAME: &'static str = #catalog_name;
            const CRATE: &'static str = ::core::env!("CARGO_PKG_NAME");
            const ALL: &'static [Self] = <Self as ::catalog::__private::strum::VariantArray>::VARIANTS;
            const SUBSYSTEMS: &'static [::catalog::Subsystem] = &#subsystems;
            const SLOS: &'static [::catalog::SloDef<Self>] = &[#(#slos),*];
            #runbook

            #[inline]
            fn slot() -> &'static ::catalog::Slot {
                static SLOT: ::catalog::Slot = ::catalog::Slot::new();
                &SLOT
            }

            #[inline]
            fn dense_slot(self) -> &'static ::catalog::DenseSlot {
                static DENSE: [::catalog::DenseSlot; #metric_count] =
                    [const { ::catalog::DenseSlot::new() }; #metric_count];
                &DENSE[self as usize]
            }

            type PerMetric<T: ::core::marker::Send + ::core::marker::Sync + 'static> = [T; #metric_count];

            fn per_metric<T: ::core::marker::Send + ::core::marker::Sync + 'static>(
                mut f: impl FnMut(Self) -> T,
            ) -> [T; #metric_count] {
                ::core::array::from_fn(|index| f(<Self as ::catalog::MetricCatalog>::ALL[index]))
            }

            fn def(self) -> &'static ::catalog::MetricDef<Self> {
                #id::def(self)
            }

            fn index(self) -> usize {
                self as usize
            }
        }

        #[doc = #label_enum_doc]
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            ::catalog::__private::strum::EnumIter,
        )]
        #[strum(crate = "::catalog::__private::strum")]
        #vis enum #label_enum {
            #(#[doc = #label_docs] #label_idents,)*
        }

        impl ::catalog::LabelKey for #label_enum {
            fn def(self) -> &'static ::catalog::LabelDef {
                match self {
                    #(#label_enum::#label_idents => const { &<#label_paths as ::catalog::LabelType>::DEF },)*
                }
            }
        }
    })
}
