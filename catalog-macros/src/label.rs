//! `#[derive(LabelValue)]`: a label type with its Prometheus name, help and values.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, GenericParam, LitStr, spanned::Spanned};

use crate::{first_paragraph, snake_case};

/// What `#[label(...)]` on the type says.
struct TypeArgs {
    name: Option<LitStr>,
    catalog_metric: bool,
}

fn type_args(input: &DeriveInput) -> syn::Result<TypeArgs> {
    let mut args = TypeArgs {
        name: None,
        catalog_metric: false,
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("label")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                args.name = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("catalog_metric") {
                args.catalog_metric = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown label setting: write `name = \"prometheus_name\"` \
                     (and `catalog_metric` for a label whose values are the catalog's metric names)",
                ))
            }
        })?;
    }
    Ok(args)
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let ident = &input.ident;
    let args = type_args(&input)?;
    let Some(name) = args.name else {
        return Err(syn::Error::new(
            ident.span(),
            "name the Prometheus label: add `#[label(name = \"error_type\")]` to this type",
        ));
    };
    let Some(help) = first_paragraph(&input.attrs) else {
        return Err(syn::Error::new(
            ident.span(),
            "document the label: its doc comment is its help text, e.g. `/// Kind of failure.`",
        ));
    };
    match &input.data {
        Data::Enum(data) => {
            if !input.generics.params.is_empty() {
                return Err(syn::Error::new(
                    input.generics.span(),
                    "an enumerated label type takes no generic parameters",
                ));
            }
            if args.catalog_metric {
                return Err(syn::Error::new(
                    ident.span(),
                    "`catalog_metric` is for a newtype over `&str`, not an enum",
                ));
            }
            if data.variants.is_empty() {
                return Err(syn::Error::new(
                    ident.span(),
                    "an enumerated label needs at least one value: add a variant",
                ));
            }
            let mut variants = Vec::new();
            let mut values = Vec::new();
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) {
                    return Err(syn::Error::new(
                        variant.fields.span(),
                        "label values are plain variants: remove the fields",
                    ));
                }
                let mut value = LitStr::new(
                    &snake_case(&variant.ident.to_string()),
                    variant.ident.span(),
                );
                for attr in variant.attrs.iter().filter(|a| a.path().is_ident("label")) {
                    attr.parse_nested_meta(|meta| {
                        if meta.path.is_ident("value") {
                            value = meta.value()?.parse()?;
                            Ok(())
                        } else {
                            Err(meta
                                .error("unknown value setting: write `value = \"label_value\"`"))
                        }
                    })?;
                }
                variants.push(&variant.ident);
                values.push(value);
            }
            let count = variants.len();
            let positions = 0..count;
            let positions2 = 0..count;
            Ok(quote! {
                impl #ident {
                    /// Every value, in declaration order.
                    pub const ALL: &'static [Self] = &[#(Self::#variants),*];

                    /// Every value's label string, in declaration order.
                    pub const VALUES: &'static [&'static str] = &[#(#values),*];

                    /// The label value of this variant.
                    #[inline]
                    pub const fn as_str(self) -> &'static str {
                        Self::VALUES[match self { #(Self::#variants => #positions,)* }]
                    }
                }

                impl ::catalog::LabelType for #ident {
                    const DEF: ::catalog::LabelDef = ::catalog::LabelDef {
                        name: #name,
                        help: #help,
                        values: ::catalog::LabelValues::OneOf(Self::VALUES),
                    };
                }

                impl<'a> ::catalog::LabelValue<'a> for #ident {
                    const COUNT: usize = #count;

                    #[inline]
                    fn as_str(self) -> &'a str {
                        #ident::as_str(self)
                    }

                    #[inline]
                    fn position(self) -> usize {
                        match self { #(Self::#variants => #positions2,)* }
                    }
                }

                impl<'a> ::catalog::LabelSet<'a> for #ident {
                    const LEN: usize = 1;
                    const ENUMERATED: bool = true;

                    #[inline]
                    fn write_values(self, out: &mut [&'a str; ::catalog::MAX_LABELS]) {
                        out[0] = ::catalog::LabelValue::as_str(self);
                    }

                    #[inline]
                    fn dense_index(self) -> usize {
                        ::catalog::LabelValue::position(self)
                    }
                }
            })
        }
        Data::Struct(data) => {
            let single = matches!(&data.fields, Fields::Unnamed(f) if f.unnamed.len() == 1);
            if !single {
                return Err(syn::Error::new(
                    data.fields.span(),
                    "a free-form label type is a newtype over `&str`: `pub struct SourceId<'a>(pub &'a str);`",
                ));
            }
            let lifetimes: Vec<_> = input.generics.lifetimes().collect();
            let others = input
                .generics
                .params
                .iter()
                .any(|p| !matches!(p, GenericParam::Lifetime(_)));
            if others || lifetimes.len() > 1 {
                return Err(syn::Error::new(
                    input.generics.span(),
                    "a free-form label type takes at most one lifetime: `pub struct SourceId<'a>(pub &'a str);`",
                ));
            }
            let (impl_lt, ty) = match lifetimes.first() {
                Some(lt) => {
                    let lt = &lt.lifetime;
                    (quote!(#lt), quote!(#ident<#lt>))
                }
                None => (quote!('a), quote!(#ident)),
            };
            let values = if args.catalog_metric {
                quote!(::catalog::LabelValues::CatalogMetric)
            } else {
                quote!(::catalog::LabelValues::FreeForm)
            };
            Ok(quote! {
                impl<#impl_lt> ::catalog::LabelType for #ty {
                    const DEF: ::catalog::LabelDef = ::catalog::LabelDef {
                        name: #name,
                        help: #help,
                        values: #values,
                    };
                }

                impl<#impl_lt> ::catalog::LabelValue<#impl_lt> for #ty {
                    const COUNT: usize = 0;

                    #[inline]
                    fn as_str(self) -> &#impl_lt str {
                        self.0
                    }

                    #[inline]
                    fn position(self) -> usize {
                        0
                    }
                }

                impl<#impl_lt> ::catalog::LabelSet<#impl_lt> for #ty {
                    const LEN: usize = 1;
                    const ENUMERATED: bool = false;

                    #[inline]
                    fn write_values(self, out: &mut [&#impl_lt str; ::catalog::MAX_LABELS]) {
                        out[0] = self.0;
                    }

                    #[inline]
                    fn dense_index(self) -> usize {
                        0
                    }
                }
            })
        }
        Data::Union(_) => Err(syn::Error::new(
            ident.span(),
            "a label type is a fieldless enum (enumerated values) or a newtype over `&str` (free-form)",
        )),
    }
}
