//! CloudFormation intrinsic functions and condition functions as typed values,
//! serialised in their long form (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If`, ...).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::ordered_map::OrderedMap;

/// Pseudo parameters that CloudFormation resolves for every stack.
pub mod pseudo {
    pub const ACCOUNT_ID: &str = "AWS::AccountId";
    pub const NO_VALUE: &str = "AWS::NoValue";
    pub const PARTITION: &str = "AWS::Partition";
    pub const REGION: &str = "AWS::Region";
    pub const URL_SUFFIX: &str = "AWS::URLSuffix";
}

/// A property value: a literal string, or an intrinsic function that
/// CloudFormation resolves to a string when it creates the stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Literal(String),
    /// `Ref`: a parameter's value, a resource's physical id or a pseudo parameter.
    Ref(String),
    /// `Fn::GetAtt`: an attribute of a resource.
    GetAtt {
        resource: String,
        attribute: String,
    },
    /// `Fn::Sub` with variables defined in `variables`, in order, besides the
    /// parameters, resources and pseudo parameters of the stack.
    Sub {
        template: String,
        variables: OrderedMap<Value>,
    },
    /// `Fn::If`: one of two values, chosen by a named condition.
    If {
        condition: String,
        when_true: Box<Value>,
        when_false: Box<Value>,
    },
}

impl Value {
    pub fn literal(text: impl Into<String>) -> Self {
        Self::Literal(text.into())
    }

    pub fn reference(logical_id: impl Into<String>) -> Self {
        Self::Ref(logical_id.into())
    }

    pub fn get_att(resource: impl Into<String>, attribute: impl Into<String>) -> Self {
        Self::GetAtt {
            resource: resource.into(),
            attribute: attribute.into(),
        }
    }

    pub fn sub(template: impl Into<String>) -> Self {
        Self::Sub {
            template: template.into(),
            variables: OrderedMap::new(),
        }
    }

    pub fn sub_with(template: impl Into<String>, variables: OrderedMap<Value>) -> Self {
        Self::Sub {
            template: template.into(),
            variables,
        }
    }

    pub fn if_else(condition: impl Into<String>, when_true: Value, when_false: Value) -> Self {
        Self::If {
            condition: condition.into(),
            when_true: Box::new(when_true),
            when_false: Box::new(when_false),
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::literal(text)
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::Literal(text)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Literal(text) => serializer.serialize_str(text),
            Value::Ref(logical_id) => single_entry(serializer, "Ref", logical_id),
            Value::GetAtt {
                resource,
                attribute,
            } => single_entry(serializer, "Fn::GetAtt", &[resource, attribute]),
            Value::Sub {
                template,
                variables,
            } if variables.is_empty() => single_entry(serializer, "Fn::Sub", template),
            Value::Sub {
                template,
                variables,
            } => single_entry(serializer, "Fn::Sub", &(template, variables)),
            Value::If {
                condition,
                when_true,
                when_false,
            } => single_entry(serializer, "Fn::If", &(condition, when_true, when_false)),
        }
    }
}

/// A property that is either always set, or chosen by a named condition.
/// A missing `when_false` renders as `Ref: AWS::NoValue`, which removes the
/// property when the condition is false.
#[derive(Debug, Clone, PartialEq)]
pub enum Conditional<T> {
    Always(T),
    If {
        condition: String,
        when_true: T,
        when_false: Option<T>,
    },
}

impl<T> Conditional<T> {
    pub fn if_else(condition: impl Into<String>, when_true: T, when_false: T) -> Self {
        Self::If {
            condition: condition.into(),
            when_true,
            when_false: Some(when_false),
        }
    }

    pub fn only_if(condition: impl Into<String>, when_true: T) -> Self {
        Self::If {
            condition: condition.into(),
            when_true,
            when_false: None,
        }
    }
}

impl<T: Serialize> Serialize for Conditional<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Conditional::Always(value) => value.serialize(serializer),
            Conditional::If {
                condition,
                when_true,
                when_false: Some(when_false),
            } => single_entry(serializer, "Fn::If", &(condition, when_true, when_false)),
            Conditional::If {
                condition,
                when_true,
                when_false: None,
            } => {
                let no_value = Value::reference(pseudo::NO_VALUE);
                single_entry(serializer, "Fn::If", &(condition, when_true, no_value))
            }
        }
    }
}

/// A condition function, as used in the `Conditions` and `Rules` sections.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Equals(Value, Value),
    Not(Box<Condition>),
}

impl Condition {
    pub fn equals(left: Value, right: Value) -> Self {
        Self::Equals(left, right)
    }

    pub fn not(condition: Condition) -> Self {
        Self::Not(Box::new(condition))
    }

    /// Returns a condition that is true when `parameter` is empty.
    pub fn is_empty(parameter: &str) -> Self {
        Self::equals(Value::reference(parameter), Value::literal(""))
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Condition::Equals(left, right) => {
                single_entry(serializer, "Fn::Equals", &(left, right))
            }
            Condition::Not(condition) => single_entry(serializer, "Fn::Not", &[condition]),
        }
    }
}

fn single_entry<S: Serializer, V: Serialize + ?Sized>(
    serializer: S,
    key: &str,
    value: &V,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_json(value: &impl Serialize) -> serde_json::Value {
        serde_json::to_value(value).expect("intrinsics serialise to JSON")
    }

    #[test]
    fn ref_renders_short_key() {
        let rendered = to_json(&Value::reference("Table"));

        assert_eq!(rendered, serde_json::json!({ "Ref": "Table" }));
    }

    #[test]
    fn get_att_renders_long_form() {
        let rendered = to_json(&Value::get_att("Function", "Arn"));

        assert_eq!(
            rendered,
            serde_json::json!({ "Fn::GetAtt": ["Function", "Arn"] })
        );
    }

    #[test]
    fn sub_with_variables_renders_pair() {
        let value = Value::sub_with(
            "table/${Name}",
            OrderedMap::from_iter([("Name", Value::reference("TableName"))]),
        );

        let rendered = to_json(&value);

        assert_eq!(
            rendered,
            serde_json::json!({ "Fn::Sub": ["table/${Name}", { "Name": { "Ref": "TableName" } }] })
        );
    }

    #[test]
    fn conditional_without_else_renders_no_value() {
        let value = Conditional::only_if("HasIndex", "index");

        let rendered = to_json(&value);

        assert_eq!(
            rendered,
            serde_json::json!({ "Fn::If": ["HasIndex", "index", { "Ref": "AWS::NoValue" }] })
        );
    }

    #[test]
    fn not_equals_renders_nested_list() {
        let condition = Condition::not(Condition::is_empty("DomainName"));

        let rendered = to_json(&condition);

        assert_eq!(
            rendered,
            serde_json::json!({ "Fn::Not": [{ "Fn::Equals": [{ "Ref": "DomainName" }, ""] }] })
        );
    }
}
